"""Submitting statements of reasons to the Transparency Database: per-statement state, batches, retries.

Every statement starts `pending`. A run claims a batch (at most 100) by marking it `sending`
and committing before the call, so a worker that dies mid-call leaves the batch `sending`:
its outcome is unknown, and once the claim is older than the job lease the next run asks
`existing-puid` for each of them before sending any again. The answer decides each statement:

- 201: `submitted`, with the database's uuid for it.
- 422 with errors keyed `statement_<index>` (the database stores none of the batch): those
  are `failed` with the database's words and no next attempt (a person fixes them; sending
  them again would be refused again); the rest of the batch is sent again at once.
- 422 with `existing_puids`: those are already stored (an earlier answer was lost):
  `submitted`; the rest is sent again.
- No answer, 5xx, 429, a refused token: the batch is `failed` with the error and a next
  attempt after the submission interval, doubling each time up to an hour (or the server's
  Retry-After); after `MAX_ATTEMPTS` a person has to send it (`hostguard export statements
  --submit`, which tries every statement not yet accepted, whatever its next attempt).

The puid is derived from the statement's id, so the database itself refuses a second copy;
together with the lookup nothing is stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_
from sqlalchemy import case as sql_case
from sqlmodel import Session, col, func, select

from hostguard.audit.service import record
from hostguard.cases.delivery import DeliveryFailed, puid_exists, submit_tdb_batch
from hostguard.cases.models import StatementOfReasons
from hostguard.cases.statements.issuing import private_names_by_case
from hostguard.cases.statements.transparency_database import (
    MAX_BATCH,
    scrub_statement,
    validate_tdb_statement,
)
from hostguard.db.types import utcnow
from hostguard.jobs.periodic import periodic
from hostguard.jobs.service import commit_progress, without_transaction

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MAX_ATTEMPTS = 30  # failed attempts (outages) after which a person has to send it
MAX_DELAY = timedelta(hours=1)
SUBJECT = "transparency-database"


class SubmissionState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a run; its outcome is unknown if the run died
    SUBMITTED = "submitted"
    FAILED = "failed"  # with next_attempt_at: retried then; without: waits for a person


@dataclass
class SubmissionResult:
    submitted: int = 0
    already_there: int = 0
    failed: int = 0
    rejected: int = 0  # of `failed`: refused by the database or the rules, not retried
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the end (the database unreachable)


@dataclass
class _Claimed:
    id: int
    puid: str
    body: dict[str, Any]
    unsure: bool  # an earlier attempt may have stored it: look it up before sending


@dataclass
class _Outcome:
    state: str
    error: str | None = None
    uuid: str | None = None
    retry_after: float | None = None
    how: str = "sent"  # sent | found (already in the database)
    final: bool = False  # refused for what it says: sending it again would be refused again


def retry_delay(attempts: int, interval: timedelta) -> timedelta:
    """How long a statement waits after its `attempts`-th failed attempt: the interval, doubling."""
    return min(interval * 2 ** max(0, min(attempts - 1, 20)), MAX_DELAY)


def counts(session: Session) -> dict[str, int]:
    """Statements by submission state (every state present, 0 when none)."""
    found = dict(
        session.exec(
            select(StatementOfReasons.submission_state, func.count()).group_by(
                col(StatementOfReasons.submission_state)
            )
        ).all()
    )
    return {state.value: int(found.get(state.value, 0)) for state in SubmissionState}


def waiting_for_a_person(session: Session) -> int:
    """Failed statements with no next attempt: refused by the database, or given up on."""
    return session.exec(
        select(func.count())
        .select_from(StatementOfReasons)
        .where(
            StatementOfReasons.submission_state == SubmissionState.FAILED,
            col(StatementOfReasons.next_attempt_at).is_(None),
        )
    ).one()


def list_submissions(
    session: Session, *, state: str | None = None, limit: int = 200
) -> list[StatementOfReasons]:
    """Statements with their submission state: failed first, then sending, pending, submitted;
    newest first within each."""
    rank = sql_case(
        (col(StatementOfReasons.submission_state) == SubmissionState.FAILED, 0),
        (col(StatementOfReasons.submission_state) == SubmissionState.SENDING, 1),
        (col(StatementOfReasons.submission_state) == SubmissionState.PENDING, 2),
        else_=3,
    )
    query = select(StatementOfReasons)
    if state:
        query = query.where(StatementOfReasons.submission_state == state)
    return list(session.exec(query.order_by(rank, col(StatementOfReasons.id).desc()).limit(limit)))


def _claimable(now: datetime, *, manual: bool, claim_timeout: timedelta):
    abandoned = and_(
        col(StatementOfReasons.submission_state) == SubmissionState.SENDING,
        col(StatementOfReasons.last_attempt_at) < now - claim_timeout,
    )
    waiting: Any
    if manual:  # a person asked: everything not accepted yet, whatever its next attempt
        waiting = col(StatementOfReasons.submission_state).in_(
            [SubmissionState.PENDING, SubmissionState.FAILED]
        )
    else:
        waiting = or_(
            col(StatementOfReasons.submission_state) == SubmissionState.PENDING,
            and_(
                col(StatementOfReasons.submission_state) == SubmissionState.FAILED,
                col(StatementOfReasons.next_attempt_at).is_not(None),
                col(StatementOfReasons.next_attempt_at) <= now,
            ),
        )
    return or_(waiting, abandoned)


def _error_text(errors: Any) -> str:
    """The database's validation errors for one statement as one line: `field: message; ...`."""
    if isinstance(errors, dict):
        parts = []
        for name, messages in errors.items():
            if isinstance(messages, list):
                messages = " ".join(str(m) for m in messages)
            parts.append(f"{name}: {messages}")
        return "; ".join(parts)
    return str(errors)


def _answer(response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _send(
    url: str, token: str | None, batch: list[_Claimed], outcomes: dict[int, _Outcome]
) -> str | None:
    """Send the batch, splitting off what the database refuses; fills `outcomes`.

    Returns the error that stopped it when the batch (or what is left of it) could not be
    delivered; the statements without an outcome then are marked for a retry by the caller.
    """
    for claimed in batch:
        if claimed.unsure and puid_exists(url, token, claimed.puid):
            outcomes[claimed.id] = _Outcome(SubmissionState.SUBMITTED, how="found")
    left = [c for c in batch if c.id not in outcomes]
    while left:
        response = submit_tdb_batch(url, token, [c.body for c in left])
        body = _answer(response)
        if response.status_code in (200, 201):
            listed = body.get("statements")
            stored: list[Any] = listed if isinstance(listed, list) else []
            uuids = {
                s.get("puid"): s.get("uuid")
                for s in stored
                if isinstance(s, dict) and s.get("uuid")
            }
            for claimed in left:
                outcomes[claimed.id] = _Outcome(
                    SubmissionState.SUBMITTED, uuid=uuids.get(claimed.puid)
                )
            return None
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
        if response.status_code == 422 and errors:
            refused: dict[int, str] = {}
            for key, problems in errors.items():
                index = key.removeprefix("statement_")
                if key.startswith("statement_") and index.isdigit() and int(index) < len(left):
                    refused[int(index)] = _error_text(problems)
            existing = errors.get("existing_puids")
            existing = set(existing) if isinstance(existing, list) else set()
            if any(i in refused or c.puid in existing for i, c in enumerate(left)):
                for index, claimed in enumerate(left):
                    if index in refused:
                        outcomes[claimed.id] = _Outcome(
                            SubmissionState.FAILED,
                            error=f"refused by the Transparency Database: {refused[index]}",
                            final=True,
                        )
                    elif claimed.puid in existing:
                        outcomes[claimed.id] = _Outcome(SubmissionState.SUBMITTED, how="found")
                left = [c for c in left if c.id not in outcomes]
                continue
        text = response.text[:300].replace("\n", " ")
        error = f"Transparency Database answered {response.status_code}: {text}"
        if response.status_code in (401, 403):
            error = (
                f"Transparency Database refused the token ({response.status_code}): "
                "check HOSTGUARD_TDB_TOKEN"
            )
        for claimed in left:
            outcomes[claimed.id] = _Outcome(
                SubmissionState.FAILED, error=error, retry_after=_retry_after(response)
            )
        return error
    return None


def submit(
    session: Session,
    *,
    url: str,
    token: str | None,
    actor: str,
    runtime: Runtime | None = None,
    manual: bool = False,
    since: datetime | None = None,
    batch_size: int = MAX_BATCH,
    interval: timedelta = timedelta(seconds=300),
    claim_timeout: timedelta = timedelta(minutes=5),
    max_batches: int | None = None,
    checkpoint: Callable[[Session], None] | None = None,
    outside: Callable[[Session], Any] | None = None,
) -> SubmissionResult:
    """Send the statements not yet accepted, a batch at a time; nothing is sent twice.

    `manual`: a person runs it: every statement not accepted yet (also those failed for good,
    and those whose next attempt is later), and a batch the database answered with an error
    does not stop the others. The worker sends only what is due and stops at the first batch
    that fails (the next run is after the interval).
    `checkpoint(session)` commits the progress (a claim, then the outcome) and `outside(session)`
    is the context the HTTP calls run in (the job queue's `commit_progress` and
    `without_transaction` in a worker job; a plain commit otherwise), so no transaction and
    no lock is held while the database is waited for.
    """
    checkpoint = checkpoint or (lambda s: s.commit())
    batch_size = max(1, min(batch_size, MAX_BATCH))
    result = SubmissionResult()
    last_id, batches = 0, 0
    while max_batches is None or batches < max_batches:
        now = utcnow()
        query = select(StatementOfReasons).where(
            _claimable(now, manual=manual, claim_timeout=claim_timeout)
        )
        if since is not None:
            query = query.where(col(StatementOfReasons.created_at) >= since)
        if manual:  # a failed one stays claimable: go through them once, in id order
            query = query.where(col(StatementOfReasons.id) > last_id).order_by(
                col(StatementOfReasons.id)
            )
        else:  # what a run has tried is no longer due; new statements go before retries
            query = query.order_by(
                col(StatementOfReasons.submission_attempts), col(StatementOfReasons.id)
            )
        rows = list(session.exec(query.limit(batch_size).with_for_update(skip_locked=True)))
        if not rows:
            break
        batches += 1
        assert rows[-1].id is not None  # read from the table
        last_id = rows[-1].id
        claimed = _claim(session, rows, now=now, actor=actor, runtime=runtime, result=result)
        checkpoint(session)
        if not claimed:
            continue
        outcomes: dict[int, _Outcome] = {}
        stopped = None
        with outside(session) if outside else nullcontext():
            try:
                stopped = _send(url, token, claimed, outcomes)
            except DeliveryFailed as exc:
                stopped = str(exc)
                result.stopped = stopped
        for c in claimed:  # what the failure left without an answer is tried again
            outcomes.setdefault(c.id, _Outcome(SubmissionState.FAILED, error=stopped))
        _record(session, claimed, outcomes, actor=actor, interval=interval, result=result)
        checkpoint(session)
        if result.stopped or (stopped and not manual):
            result.stopped = result.stopped or stopped
            break
    return result


def _claim(
    session: Session,
    rows: list[StatementOfReasons],
    *,
    now: datetime,
    actor: str,
    runtime: Runtime | None,
    result: SubmissionResult,
) -> list[_Claimed]:
    """Mark the rows `sending` (committed by the caller before any call) and build their bodies.

    A statement the rules refuse is `failed` at once, without a call.
    """
    if runtime is not None:
        names = private_names_by_case(session, runtime, [s.case_id for s in rows])
    claimed = []
    for statement in rows:
        assert statement.id is not None
        body = (
            scrub_statement(statement.tdb, names=names[statement.case_id])
            if runtime is not None
            else dict(statement.tdb)
        )
        unsure = statement.submission_attempts > 0
        statement.submission_attempts += 1
        statement.last_attempt_at = now
        problems = validate_tdb_statement(body)
        if problems:
            error = "; ".join(problems)[:2000]
            _fail_for_good(session, statement, error=error, actor=actor)
            result.failed += 1
            result.rejected += 1
            result.errors.append(f"{statement.puid}: {problems[0]}")
            continue
        statement.submission_state = SubmissionState.SENDING
        claimed.append(_Claimed(statement.id, statement.puid, body, unsure))
    return claimed


def _fail_for_good(
    session: Session, statement: StatementOfReasons, *, error: str, actor: str
) -> None:
    statement.submission_state = SubmissionState.FAILED
    statement.submission_error = error[:2000]
    statement.next_attempt_at = None
    record(
        session,
        actor=actor,
        action="statement.tdb_rejected",
        subject=f"statement:{statement.id}",
        reason=error[:2000],
        details={"puid": statement.puid, "case": statement.case_id},
    )


def _record(
    session: Session,
    claimed: list[_Claimed],
    outcomes: dict[int, _Outcome],
    *,
    actor: str,
    interval: timedelta,
    result: SubmissionResult,
) -> None:
    """Write each claimed statement's outcome and the audit records of the batch."""
    rows = {
        s.id: s
        for s in session.exec(
            select(StatementOfReasons)
            .where(col(StatementOfReasons.id).in_([c.id for c in claimed]))
            .with_for_update()
        )
    }
    now = utcnow()
    sent: list[int] = []
    found: list[int] = []
    retried: list[int] = []
    retry_error = None
    for c in claimed:
        statement, outcome = rows.get(c.id), outcomes[c.id]
        if statement is None or statement.submission_state != SubmissionState.SENDING:
            continue  # another run took it over after the claim ran out, and answered
        if outcome.state == SubmissionState.SUBMITTED:
            statement.submission_state = SubmissionState.SUBMITTED
            statement.submitted_at = now
            statement.submission_error = None
            statement.next_attempt_at = None
            statement.tdb_uuid = outcome.uuid or statement.tdb_uuid
            (found if outcome.how == "found" else sent).append(c.id)
            continue
        error = outcome.error or "no answer from the Transparency Database"
        result.failed += 1
        if outcome.final:
            _fail_for_good(session, statement, error=error, actor=actor)
            result.rejected += 1
            result.errors.append(f"{statement.puid}: {error}")
            continue
        statement.submission_state = SubmissionState.FAILED
        if statement.submission_attempts >= MAX_ATTEMPTS:
            _fail_for_good(
                session,
                statement,
                error=f"gave up after {statement.submission_attempts} attempts: {error}",
                actor=actor,
            )
            result.rejected += 1
            continue
        delay = retry_delay(statement.submission_attempts, interval)
        if outcome.retry_after:
            delay = max(delay, timedelta(seconds=min(outcome.retry_after, 86400)))
        statement.submission_error = error[:2000]
        statement.next_attempt_at = now + delay
        retried.append(c.id)
        retry_error = error
    result.submitted += len(sent)
    result.already_there += len(found)
    if retry_error and retry_error not in result.errors:
        result.errors.append(retry_error)
    for action, ids, reason in (
        ("statement.tdb_submitted", sent, None),
        ("statement.tdb_already_there", found, None),
        ("statement.tdb_attempt_failed", retried, retry_error),
    ):
        if ids:
            record(
                session,
                actor=actor,
                action=action,
                subject=SUBJECT,
                reason=reason[:2000] if reason else None,
                details={"statements": ids},
            )


def submit_due(session: Session, *, runtime: Runtime, actor: str = "system", **context) -> int:
    """The worker's run: send what is due, if the database's URL and token are configured."""
    settings = runtime.settings
    if not (settings.tdb_url and settings.tdb_token):
        return 0
    result = submit(
        session,
        url=settings.tdb_url,
        token=settings.tdb_token,
        actor=actor,
        runtime=runtime,
        interval=timedelta(seconds=settings.tdb_submit_interval),
        claim_timeout=timedelta(seconds=settings.job_lease_seconds),
        max_batches=50,
        **context,
    )
    return result.submitted + result.already_there


@periodic("cases.tdb_submit", every=timedelta(seconds=300), setting="tdb_submit_interval")
def submit_periodically(*, session: Session, runtime: Runtime) -> int:
    """Send the new statements of reasons to the Transparency Database (HOSTGUARD_TDB_URL and
    HOSTGUARD_TDB_TOKEN set), every HOSTGUARD_TDB_SUBMIT_INTERVAL seconds."""
    return submit_due(
        session, runtime=runtime, checkpoint=commit_progress, outside=without_transaction
    )
