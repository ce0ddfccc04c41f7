"""Exporting statements of reasons to the Transparency Database, scrubbed of personal names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard.cases.delivery import DeliveryFailed, puid_exists, submit_tdb_batch
from hostguard.cases.models import StatementOfReasons
from hostguard.cases.statements.issuing import private_names_by_case, statement_private_names
from hostguard.cases.statements.transparency_database import (
    MAX_BATCH,
    scrub_statement,
    validate_tdb_statement,
)
from hostguard.db.types import utcnow

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


@dataclass
class SubmissionResult:
    submitted: int = 0
    already_there: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def submit_statements(
    session: Session,
    *,
    url: str,
    token: str | None,
    since: datetime | None = None,
    batch_size: int = MAX_BATCH,
    runtime: Runtime | None = None,
) -> SubmissionResult:
    """Send statements not yet accepted, at most 100 per call; running it again sends nothing twice.

    A statement whose earlier attempt failed is first looked up by puid, so one the database
    stored before the failure is marked submitted instead of sent again. Commits after each batch.
    """
    batch_size = max(1, min(batch_size, MAX_BATCH))
    result = SubmissionResult()
    pending = list(statements(session, since=since, unsubmitted=True))
    for start in range(0, len(pending), batch_size):
        chunk = []
        batch = pending[start : start + batch_size]
        for statement, tdb in zip(batch, public_tdb_batch(session, runtime, batch), strict=True):
            if statement.submission_error and puid_exists(url, token, statement.puid):
                statement.submitted_at, statement.submission_error = utcnow(), None
                result.already_there += 1
                continue
            problems = validate_tdb_statement(tdb)
            if problems:
                statement.submission_error = "; ".join(problems)[:2000]
                result.failed += 1
                result.errors.append(f"{statement.puid}: {problems[0]}")
                continue
            chunk.append((statement, tdb))
        if chunk:
            bodies = [tdb for _, tdb in chunk]
            sent = [statement for statement, _ in chunk]
            try:
                response = submit_tdb_batch(url, token, bodies)
            except DeliveryFailed as exc:
                for s in sent:
                    s.submission_error = str(exc)
                session.commit()
                raise
            if response.status_code in (200, 201):
                for s in sent:
                    s.submitted_at, s.submission_error = utcnow(), None
                result.submitted += len(sent)
            else:
                message = (
                    f"Transparency Database answered {response.status_code}: {response.text[:300]}"
                )
                for s in sent:
                    s.submission_error = message[:2000]
                result.failed += len(sent)
                result.errors.append(message)
        session.commit()
    return result
