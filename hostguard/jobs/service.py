"""Enqueue jobs, claim due ones without two workers taking the same, run them with retries.

Delivery is at-least-once: a worker killed mid-job leaves a lease that expires, and the
job is claimed again. A handler's database writes commit together with the job's DONE mark,
so database effects happen exactly once; external calls carry the job id as idempotency key.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from hostguard.db import session_scope
from hostguard.db.types import utcnow
from hostguard.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[..., None]  # handler(session=, payload=, job=, runtime=)
HANDLERS: dict[str, Handler] = {}
LEASE = timedelta(minutes=5)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def enqueue(session: Session, kind: str, payload: dict, *, dedupe_key: str | None = None,
            run_at=None, max_attempts: int = 8) -> Job:
    """Add a job in the caller's transaction; with a dedupe key, an existing job is returned."""
    if dedupe_key:
        existing = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
        if existing:
            return existing
    job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, run_at=run_at or utcnow(),
              max_attempts=max_attempts)
    session.add(job)
    session.flush()
    return job


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts * 5, 3600))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(engine: Engine, *, worker: str, kinds: set[str] | None = None, limit: int = 1) -> list[int]:
    """Take up to `limit` due jobs (or jobs whose lease ran out) and lease them to `worker`."""
    now = utcnow()
    with session_scope(engine) as session:
        query = (
            sa_select(Job)
            .where(or_(
                (Job.status == JobStatus.QUEUED) & (Job.run_at <= now),
                (Job.status == JobStatus.RUNNING) & (Job.locked_until < now),
            ))
            .order_by(Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kinds:
            query = query.where(Job.kind.in_(sorted(kinds)))
        jobs = list(session.scalars(query))
        for job in jobs:
            job.status = JobStatus.RUNNING
            job.locked_by = worker
            job.locked_until = now + LEASE
            job.attempts += 1
        return [job.id for job in jobs]


def run_job(engine: Engine, job_id: int, *, worker: str, runtime=None) -> str:
    """Run one claimed job; returns its new status."""
    try:
        with session_scope(engine) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.status != JobStatus.RUNNING or job.locked_by != worker:
                return "lost"  # another worker took it over after our lease ran out
            fn = HANDLERS.get(job.kind)
            if fn is None:
                raise LookupError(f"no handler for job kind '{job.kind}'")
            fn(session=session, payload=job.payload, job=job, runtime=runtime)
            job.status = JobStatus.DONE
            job.finished_at = utcnow()
            job.locked_by = job.locked_until = None
            job.last_error = None
            return JobStatus.DONE
    except Exception as exc:  # the handler's writes are rolled back; record the failure
        log.warning("job %s failed: %s", job_id, exc.__class__.__name__)
        with session_scope(engine) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                return "lost"
            job.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            job.locked_by = job.locked_until = None
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.DEAD
                job.finished_at = utcnow()
            else:
                job.status = JobStatus.QUEUED
                job.run_at = utcnow() + backoff(job.attempts)
            return job.status


def run_due(engine: Engine, *, worker: str | None = None, runtime=None, limit: int = 100,
            kinds: set[str] | None = None) -> int:
    """Run due jobs until none is left (or `limit` ran); returns how many ran."""
    worker = worker or worker_name()
    ran = 0
    while ran < limit:
        ids = claim(engine, worker=worker, kinds=kinds, limit=1)
        if not ids:
            break
        run_job(engine, ids[0], worker=worker, runtime=runtime)
        ran += 1
    return ran


def backlog(session: Session) -> int:
    from sqlalchemy import func

    return session.exec(
        select(func.count()).select_from(Job).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    ).one()
