"""Writing audit records into the hash chain and verifying the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from hostguard.audit.models import AuditHead, AuditRecord
from hostguard.context import current_request_id
from hostguard.db import advisory_xact_lock, is_postgres
from hostguard.db.types import utcnow

GENESIS = "0" * 64
_LOCK_KEY = 7_366_821  # pg advisory lock id serialising appends to the chain

# Built once: every audited change runs these (see docs/DEVELOPING.md, "Statements on hot
# paths").
_LOCKED_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
# SQLModel sets __table__ on every table model but does not declare it, hence the ignores.
_FIRST_HEAD = insert(AuditHead.__table__)  # type: ignore[attr-defined]
_NEXT_HEAD = (
    update(AuditHead.__table__)  # type: ignore[attr-defined]
    .where(AuditHead.__table__.c.id == 1)  # type: ignore[attr-defined]
    .values(seq=bindparam("next_seq"), hash=bindparam("next_hash"))
)
_APPEND = insert(AuditRecord.__table__)  # type: ignore[attr-defined]
# PostgreSQL moves the head and appends the record in one statement (a data-modifying WITH),
# one round trip fewer while the head's lock is held; SQLite has no such WITH.
_NEXT_HEAD_AND_APPEND = _APPEND.add_cte(_NEXT_HEAD.cte("next_head"))


def hold_chain(conn: Connection) -> None:
    """Take now the lock the transaction's next audit record would take (the head row, or
    before the first record the advisory lock); a no-op on SQLite, which has one writer.

    For code that locks other rows shared by every decision (the dashboard's roll-up): taken
    after the chain, always, those locks cannot deadlock with a transaction holding the chain.
    """
    if conn.dialect.name != "postgresql":
        return
    if conn.execute(_LOCKED_HEAD).first() is None:
        conn.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": _LOCK_KEY})


def _digest(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    request_id: str | None,
    details: dict,
) -> str:
    body = json.dumps(
        [
            prev_hash,
            seq,
            at.isoformat(timespec="microseconds"),
            actor,
            action,
            subject,
            reason,
            request_id,
            details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    reason: str | None = None,
    details: dict | None = None,
) -> None:
    """Append one record in the caller's transaction (it commits or rolls back with the change)."""
    # The head row's lock serialises appends; before the first record there is no row to
    # lock, so the very first appends queue on an advisory lock instead (PostgreSQL; SQLite
    # writers are serialised anyway) and read the head again once they hold it. The head and
    # the record are written as plain statements, not through the ORM's unit of work: every
    # state change appends one, and a check answered by the API appends one per request.
    head = session.execute(_LOCKED_HEAD).first()
    if head is None and advisory_xact_lock(session, _LOCK_KEY):
        head = session.execute(_LOCKED_HEAD).first()
    prev_seq, prev_hash = head if head is not None else (0, GENESIS)
    at = utcnow()
    details = json.loads(json.dumps(details or {}, default=str))
    seq = prev_seq + 1
    rid = current_request_id()
    digest = _digest(prev_hash, seq, at, actor, action, subject, reason, rid, details)
    row = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "request_id": rid,
        "details": details,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    if head is None:
        session.execute(_FIRST_HEAD, {"id": 1, "seq": seq, "hash": digest})
        session.execute(_APPEND, row)
    elif is_postgres(session.get_bind()):
        session.execute(_NEXT_HEAD_AND_APPEND, {**row, "next_seq": seq, "next_hash": digest})
    else:
        session.execute(_NEXT_HEAD, {"next_seq": seq, "next_hash": digest})
        session.execute(_APPEND, row)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None


def verify(session: Session) -> VerifyResult:
    """Walk the chain in order; name the first record that was edited, removed or re-ordered."""
    prev, expected_seq, checked = GENESIS, 1, 0
    last_id = None
    for row in session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))):
        checked += 1
        if row.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                expected_seq,
                row.id,
                f"record seq {expected_seq} is missing (next found is {row.seq})",
            )
        if row.prev_hash != prev:
            return VerifyResult(
                False, checked, row.seq, row.id, "link to the previous record is broken"
            )
        digest = _digest(
            row.prev_hash,
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.subject,
            row.reason,
            row.request_id,
            row.details or {},
        )
        if digest != row.hash:
            return VerifyResult(False, checked, row.seq, row.id, "record content was changed")
        prev, expected_seq, last_id = row.hash, expected_seq + 1, row.id
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    head_seq, head_hash = head if head is not None else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        return VerifyResult(
            False,
            checked,
            expected_seq,
            last_id,
            f"chain ends at seq {expected_seq - 1} but the head says {head_seq}: "
            "records were removed from the end",
        )
    return VerifyResult(True, checked)


def list_records(
    session: Session,
    *,
    subject: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
):
    query = select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(limit)
    if subject:
        query = query.where(AuditRecord.subject == subject)
    if actor:
        query = query.where(AuditRecord.actor == actor)
    if action:
        query = query.where(AuditRecord.action == action)
    if before_seq:
        query = query.where(AuditRecord.seq < before_seq)
    return list(session.exec(query))
