"""Exporting statements of reasons to the Transparency Database, scrubbed of personal names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard.cases.models import StatementOfReasons
from hostguard.cases.statements.issuing import private_names_by_case, statement_private_names
from hostguard.cases.statements.submission import SubmissionResult, submit
from hostguard.cases.statements.transparency_database import MAX_BATCH, scrub_statement

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


def statement_batches(
    session: Session, *, since: datetime | None = None, unsubmitted: bool = False, batch: int = 500
) -> Iterator[list[StatementOfReasons]]:
    """Statements of reasons in id order, a batch at a time (keyset), so exports stay flat in memory."""
    last_id = 0
    while True:
        query = select(StatementOfReasons).where(col(StatementOfReasons.id) > last_id)
        if since:
            query = query.where(col(StatementOfReasons.created_at) >= since)
        if unsubmitted:
            query = query.where(col(StatementOfReasons.submitted_at).is_(None))
        rows = list(session.exec(query.order_by(col(StatementOfReasons.id)).limit(batch)))
        if not rows:
            return
        yield rows
        assert rows[-1].id is not None  # a row read from the database has its id
        last_id = rows[-1].id


def statements(
    session: Session, *, since: datetime | None = None, unsubmitted: bool = False, batch: int = 500
) -> Iterator[StatementOfReasons]:
    """Statements of reasons in id order, read in batches (see `statement_batches`)."""
    for rows in statement_batches(session, since=since, unsubmitted=unsubmitted, batch=batch):
        yield from rows


def public_tdb(
    session: Session,
    runtime: Runtime | None,
    statement: StatementOfReasons,
    names: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The statement's Transparency Database form as exported: scrubbed again of the names known
    now (notifiers' names and addresses, the uploader's user name), so a statement stored before
    a name was known to be personal data never carries it out. `names`: the case's
    `statement_private_names`, when the caller read them for a whole batch."""
    if runtime is None:
        return statement.tdb
    if names is None:
        names = statement_private_names(session, runtime, case_id=statement.case_id)
    return scrub_statement(statement.tdb, names=names)


def public_tdb_batch(
    session: Session, runtime: Runtime | None, batch: list[StatementOfReasons]
) -> list[dict[str, Any]]:
    """`public_tdb` of a batch of statements, with the private names of all their cases read at once."""
    if runtime is None:
        return [statement.tdb for statement in batch]
    names = private_names_by_case(session, runtime, [statement.case_id for statement in batch])
    return [
        public_tdb(session, runtime, statement, names[statement.case_id]) for statement in batch
    ]


def submit_statements(
    session: Session,
    *,
    url: str,
    token: str | None,
    since: datetime | None = None,
    batch_size: int = MAX_BATCH,
    runtime: Runtime | None = None,
    actor: str = "cli",
) -> SubmissionResult:
    """Send, by hand, every statement not yet accepted, at most 100 per call; nothing twice.

    The worker's code (`submission.submit`), for a person: statements that failed are tried
    again now, and a batch the database answers with an error does not stop the others; one
    whose earlier attempt may have been stored is looked up by puid first. Commits after
    each step. `result.stopped` says why it stopped early (the database unreachable).
    """
    settings = runtime.settings if runtime is not None else None
    return submit(
        session,
        url=url,
        token=token,
        actor=actor,
        runtime=runtime,
        manual=True,
        since=since,
        batch_size=batch_size,
        interval=timedelta(seconds=settings.tdb_submit_interval if settings else 300),
        claim_timeout=timedelta(seconds=settings.job_lease_seconds if settings else 300),
    )
