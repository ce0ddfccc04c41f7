"""Enqueue jobs, claim due ones without two workers taking the same, run them with retries.

Delivery is at-least-once: a worker killed mid-job leaves a lease that expires, and the
job is claimed again. A handler's database writes commit together with the job's DONE mark,
so database effects happen exactly once; external calls carry the job id as idempotency key.

On PostgreSQL a running job's row stays locked (`FOR UPDATE`) for as long as its handler
runs, and `claim` skips locked rows, so a slow job whose lease ran out is still not taken
twice; the lease only matters once the worker holding it is gone. On SQLite every write
transaction is serialised, which makes one node with any number of worker threads safe.

A handler that waits on the outside world (an HTTP call) before it writes anything wraps the
wait in `without_transaction(session)`: the job's transaction ends for the wait, so it holds
no lock meanwhile (on SQLite: not the database's one write lock, which would stall every web
request that writes), and a fresh one begins after it, with the job row locked again and
checked to be still this worker's. During the wait only the lease protects the job, so the
call must be idempotent (a delivery id the receiver dedupes on).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db import session_scope
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, NotFound, safe_error_text
from hostguard.jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

Handler = Callable[..., None]  # handler(session=, payload=, job=, runtime=)
HANDLERS: dict[str, Handler] = {}
LEASE = timedelta(minutes=5)
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of this kind."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict,
    *,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> Job:
    """Add a job in the caller's transaction; with a dedupe key, an existing job is returned."""
    if dedupe_key:
        existing = session.exec(select(Job).where(Job.dedupe_key == dedupe_key)).first()
        if existing:
            return existing
    job = Job(
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        run_at=run_at or utcnow(),
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts * 5, 3600))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(
    engine: Engine,
    *,
    worker: str,
    kinds: set[str] | None = None,
    limit: int = 1,
    lease: timedelta | None = None,
) -> list[int]:
    """Take up to `limit` due jobs (or jobs whose lease ran out) and lease them to `worker`.

    A job whose lease ran out after its last allowed attempt (its worker kept dying on it)
    is marked dead instead of being handed out again.
    """
    now = utcnow()
    lease = lease or LEASE
    with session_scope(engine) as session:
        query = (
            sa_select(Job)
            .where(
                or_(
                    (col(Job.status) == JobStatus.QUEUED) & (col(Job.run_at) <= now),
                    (col(Job.status) == JobStatus.RUNNING) & (col(Job.locked_until) < now),
                )
            )
            .order_by(col(Job.run_at), col(Job.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kinds:
            query = query.where(col(Job.kind).in_(sorted(kinds)))
        claimed: list[int] = []
        for job in session.scalars(query):
            if job.status == JobStatus.RUNNING and job.attempts >= job.max_attempts:
                job.status = JobStatus.DEAD
                job.finished_at = now
                job.last_error = (
                    f"the worker {job.locked_by} stopped while running it "
                    f"(lease expired) on the last of {job.max_attempts} attempts"
                )
                job.locked_by = job.locked_until = None
                continue
            job.status = JobStatus.RUNNING
            job.locked_by = worker
            job.locked_until = now + lease
            job.attempts += 1
            assert job.id is not None  # a row read from the table has its id
            claimed.append(job.id)
        return claimed


class JobLost(Exception):
    """The job was taken over by another worker while this one waited outside its transaction."""


_RUNNING: ContextVar[tuple[Session, int, str] | None] = ContextVar(
    "hostguard_running_job", default=None
)
_WROTE = "hostguard.job_wrote"


def _note_write(session, _context) -> None:
    session.info[_WROTE] = True


def _note_statement(state) -> None:
    """A write the unit of work never sees: an INSERT/UPDATE/DELETE run with session.execute().

    Statements run on `session.connection()` directly are not seen: a handler that writes that
    way and then waits must not use `without_transaction`.
    """
    statement = state.statement
    if (
        state.is_insert
        or state.is_update
        or state.is_delete
        or (isinstance(statement, TextClause) and statement.text.lstrip()[:6].upper() != "SELECT")
    ):
        state.session.info[_WROTE] = True


@contextmanager
def without_transaction(session: Session | None) -> Iterator[bool]:
    """Run the block with no transaction open, if the running job has written nothing yet.

    Yields whether the transaction was let go. Outside a job (or with no session), or once the
    handler has written, the block runs inside the transaction as before (nothing written may
    be lost).
    Afterwards the job row is locked again; `JobLost` if another worker took the job over
    meanwhile (its lease ran out), and the handler's loaded objects are stale: reload them.
    """
    running = _RUNNING.get()
    if (
        running is None
        or running[0] is not session
        or session.info.get(_WROTE)
        or session.new
        or session.dirty
        or session.deleted
    ):
        yield False
        return
    _, job_id, worker = running
    session.rollback()  # it only read: nothing to keep, and every lock goes
    yield True
    _lock_job_again(session, job_id, worker, "while it waited")


def commit_progress(session: Session) -> None:
    """Commit what the running job has written so far; the job stays claimed and locked.

    For a handler that must keep a step even if a later one fails or the worker dies (the
    Hugging Face actioner keeps a repo's own settings before it changes them), and that is
    safe to run again from there: a retry finds what was committed. It also lets a following
    `without_transaction` go. Outside a job it does nothing: the caller commits at its boundary.
    """
    running = _RUNNING.get()
    if running is None or running[0] is not session:
        return
    _, job_id, worker = running
    session.commit()
    session.info.pop(_WROTE, None)
    _lock_job_again(session, job_id, worker, "while it ran")


def _lock_job_again(session: Session, job_id: int, worker: str, when: str) -> None:
    """Lock the running job's row in the new transaction; `JobLost` if another worker has it now."""
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != JobStatus.RUNNING or job.locked_by != worker:
        raise JobLost(f"job {job_id} was taken over {when}")


def run_job(engine: Engine, job_id: int, *, worker: str, runtime: Runtime | None = None) -> str:
    """Run one claimed job; returns its new status."""
    try:
        with session_scope(engine) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.status != JobStatus.RUNNING or job.locked_by != worker:
                return "lost"  # another worker took it over after our lease ran out
            fn = HANDLERS.get(job.kind)
            if fn is None:
                raise LookupError(f"no handler for job kind '{job.kind}'")
            event.listen(session, "after_flush", _note_write)
            event.listen(session, "do_orm_execute", _note_statement)
            token = _RUNNING.set((session, job_id, worker))
            try:
                fn(session=session, payload=job.payload, job=job, runtime=runtime)
            finally:
                _RUNNING.reset(token)
            job = session.get(Job, job_id)  # the same row, reloaded if the handler let go of it
            assert job is not None  # read (and on PostgreSQL locked) above in this transaction
            job.status = JobStatus.DONE
            job.finished_at = utcnow()
            job.locked_by = job.locked_until = None
            job.last_error = None
            return JobStatus.DONE
    except JobLost:
        log.info("job %s was taken over by another worker", job_id)
        return "lost"
    except Exception as exc:  # the handler's writes are rolled back; record the failure
        log.warning("job %s failed: %s", job_id, exc.__class__.__name__)
        with session_scope(engine) as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.locked_by != worker:
                return "lost"
            job.last_error = safe_error_text(exc)[:2000]
            job.locked_by = job.locked_until = None
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.DEAD
                job.finished_at = utcnow()
            else:
                job.status = JobStatus.QUEUED
                job.run_at = utcnow() + backoff(job.attempts)
            return job.status


def run_due(
    engine: Engine,
    *,
    worker: str | None = None,
    runtime: Runtime | None = None,
    limit: int = 100,
    kinds: set[str] | None = None,
    lease: timedelta | None = None,
) -> int:
    """Run due jobs until none is left (or `limit` ran); returns how many ran."""
    worker = worker or worker_name()
    ran = 0
    while ran < limit:
        ids = claim(engine, worker=worker, kinds=kinds, limit=1, lease=lease)
        if not ids:
            break
        run_job(engine, ids[0], worker=worker, runtime=runtime)
        ran += 1
    return ran


def backlog(session: Session) -> int:
    """Jobs queued or running (the outbox backlog)."""
    return session.exec(
        select(func.count()).select_from(Job).where(col(Job.status).in_(ACTIVE))
    ).one()


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Number of jobs by (kind, status)."""
    rows = session.exec(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    return {(kind, status): n for kind, status, n in rows}


def oldest_due_age(session: Session) -> float:
    """Seconds the oldest due, queued job has waited (0 when none waits)."""
    oldest = session.exec(
        select(func.min(Job.run_at)).where(Job.status == JobStatus.QUEUED, Job.run_at <= utcnow())
    ).one()
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # aggregates skip the column type on SQLite
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - oldest).total_seconds())


def list_jobs(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 50
) -> list[Job]:
    """Newest jobs first, optionally of one status or kind."""
    query = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    return list(session.exec(query))


def retry(session: Session, job_id: int, *, actor: str = "cli", reason: str | None = None) -> Job:
    """Put a dead (or waiting) job back in the queue to run now, with a fresh set of attempts.

    Audited in the caller's transaction: a retried job can repeat an outside action
    (a take-down, a webhook), so who asked for it must be on record.
    """
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    if job.status in (JobStatus.RUNNING, JobStatus.DONE):
        raise Conflict(f"job {job_id} is {job.status}; only queued or dead jobs can be retried")
    previous = {"kind": job.kind, "status": str(job.status), "attempts": job.attempts}
    job.status = JobStatus.QUEUED
    job.run_at = utcnow()
    job.attempts = 0
    job.finished_at = None
    record(
        session,
        actor=actor,
        action="job.retry",
        subject=f"job:{job.id}",
        reason=reason,
        details=previous,
    )
    return job


def prune(session: Session, *, older_than: timedelta) -> int:
    """Delete finished (done) jobs older than `older_than`; dead jobs stay for operators."""
    from sqlalchemy import delete

    cutoff = utcnow() - older_than
    result = session.exec(
        delete(Job).where(col(Job.status) == JobStatus.DONE, col(Job.finished_at) < cutoff)
    )
    return result.rowcount or 0
