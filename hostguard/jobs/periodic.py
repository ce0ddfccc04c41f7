"""Periodic tasks (retention sweeps, deadline alerts, ...) run by the job queue.

A domain registers a function with `@periodic("cases.deadline_alerts", every=timedelta(minutes=15))`
in its `jobs.py`; the function is called as `fn(session=, runtime=)` inside a job, so it gets
the queue's retries and its writes commit with the job. Each worker calls `schedule_due`
once per poll: the task's row in `periodic_tasks` is locked (`SKIP LOCKED` on PostgreSQL),
and the job carries a dedupe key for the time slot, so many workers enqueue each run once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hostguard.db import READ_ONLY, session_scope
from hostguard.db.types import utcnow
from hostguard.jobs.models import PeriodicTask
from hostguard.jobs.service import enqueue, handler

log = logging.getLogger(__name__)

JOB_PREFIX = "periodic."


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    fn: Callable[..., None]
    # A setting (in seconds) that overrides `every` where the scheduler is given the settings.
    setting: str | None = None

    def interval(self, settings: Any = None) -> timedelta:
        """`every`, or the operator's setting named by `setting` when one is given and set."""
        value = getattr(settings, self.setting, None) if self.setting and settings else None
        return timedelta(seconds=float(value)) if value else self.every


PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, *, every: timedelta, setting: str | None = None) -> Callable:
    """Register `fn(*, session, runtime)` to run about every `every`, once across all workers.

    `setting`: the name of a setting (seconds) that the operator can change the interval with.
    """
    if every < timedelta(seconds=1):
        raise ValueError("a periodic task runs at most once a second")

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        PERIODIC[name] = Periodic(name, every, fn, setting)

        @handler(JOB_PREFIX + name)
        def run(*, session, payload, job, runtime):
            fn(session=session, runtime=runtime)
            row = session.get(PeriodicTask, name)
            if row is not None:
                row.last_run_at = utcnow()
                row.last_job_id = job.id

        return fn

    return register


def _slot(now: datetime, every: timedelta) -> int:
    return int(now.timestamp() // every.total_seconds())


def schedule_due(engine: Engine, *, now: datetime | None = None, settings: Any = None) -> list[str]:
    """Enqueue a job for every registered task whose time has come; returns their names.

    With `settings`, a task registered with `setting=` runs at the interval the operator set.
    """
    now = now or utcnow()
    # Most polls find nothing due: read first, without the write lock (on SQLite a write
    # transaction every second per task made the web processes' checks queue behind it).
    with Session(engine.execution_options(**{READ_ONLY: True})) as session:
        known = {
            row.name: (row.every_seconds, row.next_run_at)
            for row in session.exec(select(PeriodicTask))
        }
    enqueued = []
    for task in list(PERIODIC.values()):
        every = task.interval(settings)
        seen = known.get(task.name)
        if seen is not None and seen[0] == int(every.total_seconds()) and seen[1] > now:
            continue  # not due, and its interval is unchanged: nothing to write
        try:
            if _schedule_one(engine, task, now, every):
                enqueued.append(task.name)
        except IntegrityError:  # another worker created the row or the job at the same moment
            continue
    return enqueued


def _schedule_one(engine: Engine, task: Periodic, now: datetime, every: timedelta) -> bool:
    with session_scope(engine) as session:
        row = session.scalars(
            sa_select(PeriodicTask)
            .where(col(PeriodicTask.name) == task.name)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            if session.get(PeriodicTask, task.name) is not None:
                return False  # exists, locked by a worker scheduling it right now
            row = PeriodicTask(
                name=task.name, every_seconds=int(every.total_seconds()), next_run_at=now
            )
            session.add(row)
            session.flush()
        row.every_seconds = int(every.total_seconds())
        row.next_run_at = min(row.next_run_at, now + every)  # the operator shortened the interval
        if row.next_run_at > now:
            return False
        job = enqueue(
            session,
            JOB_PREFIX + task.name,
            {"slot": _slot(now, every)},
            dedupe_key=f"{JOB_PREFIX}{task.name}:{_slot(now, every)}",
            max_attempts=3,
        )
        row.last_enqueued_at = now
        row.next_run_at = now + every
        log.info("periodic task %s enqueued as job %s", task.name, job.id)
        return True


def status(session: Session) -> list[PeriodicTask]:
    """Every periodic task's row (registered or not), by name."""
    return list(session.exec(select(PeriodicTask).order_by(PeriodicTask.name)))
