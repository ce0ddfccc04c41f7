"""Transparency reports and Transparency Database exports, read from the case tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from hostguard.cases.delivery import DeliveryFailed, puid_exists, submit_tdb_batch
from hostguard.cases.models import (
    Appeal,
    AuthorityOrder,
    Case,
    Decision,
    Notice,
    Sanction,
    StatementOfReasons,
)
from hostguard.cases.tdb import (
    AUTOMATED_SOURCES,
    MAX_BATCH,
    scrub_statement,
    validate_tdb_statement,
)
from hostguard.cases.transparency import (
    AppealRow,
    DecisionRow,
    NoticeRow,
    OrderRow,
    transparency_report,
)
from hostguard.db.types import utcnow


def transparency_from_db(session: Session, *, since: datetime, until: datetime) -> dict:
    """Figures for notices, orders, decisions and appeals received or taken in [since, until)."""
    notices = [
        NoticeRow(n.category, n.source, n.received_at)
        for n in session.exec(
            select(Notice).where(Notice.received_at >= since, Notice.received_at < until)
        )
    ]
    orders = [
        OrderRow(
            o.category, o.member_state or "unknown", o.received_at, o.acknowledged_at, o.effect_at
        )
        for o in session.exec(
            select(AuthorityOrder).where(
                AuthorityOrder.received_at >= since, AuthorityOrder.received_at < until
            )
        )
    ]
    decisions = []
    for d, case in session.exec(
        select(Decision, Case)
        .join(Case, Case.id == Decision.case_id)
        .where(Decision.decided_at >= since, Decision.decided_at < until)
    ):
        decisions.append(
            DecisionRow(
                d.action,
                d.ground,
                d.category,
                case.source,
                case.opened_at,
                d.decided_at,
                d.automated or case.source in AUTOMATED_SOURCES,
            )
        )
    appeals = [
        AppealRow(a.filed_at, a.decided_at, a.outcome == "overturned")
        for a in session.exec(
            select(Appeal).where(Appeal.filed_at >= since, Appeal.filed_at < until)
        )
    ]
    suspensions = [
        s.reason
        for s in session.exec(
            select(Sanction).where(
                Sanction.action == "suspend", Sanction.at >= since, Sanction.at < until
            )
        )
    ]
    return transparency_report(
        since=since,
        until=until,
        notices=notices,
        orders=orders,
        decisions=decisions,
        appeals=appeals,
        suspensions=suspensions,
    )


def statement_batches(
    session: Session, *, since: datetime | None = None, unsubmitted: bool = False, batch: int = 500
) -> Iterator[list[StatementOfReasons]]:
    """Statements of reasons in id order, a batch at a time (keyset), so exports stay flat in memory."""
    last_id = 0
    while True:
        query = select(StatementOfReasons).where(StatementOfReasons.id > last_id)
        if since:
            query = query.where(StatementOfReasons.created_at >= since)
        if unsubmitted:
            query = query.where(col(StatementOfReasons.submitted_at).is_(None))
        rows = list(session.exec(query.order_by(col(StatementOfReasons.id)).limit(batch)))
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def statements(
    session: Session, *, since: datetime | None = None, unsubmitted: bool = False, batch: int = 500
) -> Iterator[StatementOfReasons]:
    """Statements of reasons in id order, read in batches (see `statement_batches`)."""
    for rows in statement_batches(session, since=since, unsubmitted=unsubmitted, batch=batch):
        yield from rows


def public_tdb(
    session: Session, runtime, statement: StatementOfReasons, names: tuple[str, ...] | None = None
) -> dict:
    """The statement's Transparency Database form as exported: scrubbed again of the names known
    now (notifiers' names and addresses, the uploader's user name), so a statement stored before
    a name was known to be personal data never carries it out. `names`: the case's
    `statement_private_names`, when the caller read them for a whole batch."""
    from hostguard.cases.service import statement_private_names

    if runtime is None:
        return statement.tdb
    if names is None:
        names = statement_private_names(session, runtime, case_id=statement.case_id)
    return scrub_statement(statement.tdb, names=names)


def public_tdb_batch(session: Session, runtime, batch: list[StatementOfReasons]) -> list[dict]:
    """`public_tdb` of a batch of statements, with the private names of all their cases read at once."""
    from hostguard.cases.service import private_names_by_case

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
    runtime=None,
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
            chunk = [statement for statement, _ in chunk]
            try:
                response = submit_tdb_batch(url, token, bodies)
            except DeliveryFailed as exc:
                for s in chunk:
                    s.submission_error = str(exc)
                session.commit()
                raise
            if response.status_code in (200, 201):
                for s in chunk:
                    s.submitted_at, s.submission_error = utcnow(), None
                result.submitted += len(chunk)
            else:
                message = (
                    f"Transparency Database answered {response.status_code}: {response.text[:300]}"
                )
                for s in chunk:
                    s.submission_error = message[:2000]
                result.failed += len(chunk)
                result.errors.append(message)
        session.commit()
    return result
