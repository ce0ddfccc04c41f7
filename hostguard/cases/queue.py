"""The moderation queue: cases filtered and paged most urgent first, reprioritised as they wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases.intake import MAX_ID, get_case
from hostguard.cases.models import OPEN_STATUSES, Case, CaseStatus
from hostguard.cases.priority import priority_for
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput
from hostguard.policy import Policy

SORTS = ("priority", "oldest", "newest")


@dataclass
class CaseFilter:
    status: str | None = "open"  # one status, "active" (open, escalated, appealed) or None for all
    category: str | None = None
    source: str | None = None
    overdue: bool = False
    assigned_to: int | None = None
    unassigned: bool = False
    escalated_to: str | None = None


def encode_cursor(case: Case, sort: str) -> str:
    return f"{case.priority}.{case.id}" if sort == "priority" else str(case.id)


def list_cases(
    session: Session,
    flt: CaseFilter,
    *,
    sort: str = "priority",
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
    policy: Policy | None = None,
) -> tuple[list[Case], str | None]:
    """One page of the queue and the cursor of the next page (keyset pagination on (priority, id)).

    Most urgent first; among equal priorities the newer case first (the reprioritise job lifts
    older cases as they wait, so nothing starves). Given the policy, the cases that have passed
    their deadline since the job last ran are lifted first, in the caller's transaction, so an
    overdue case rises the moment it is overdue, not up to an hour later.
    """
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")
    limit = max(1, min(int(limit), 200))
    now = now or utcnow()
    if policy is not None:
        reprioritise(session, policy=policy, now=now, only_overdue=True)
    query = select(Case)
    if flt.status == "active":
        query = query.where(col(Case.status).in_(OPEN_STATUSES))
    elif flt.status:
        if flt.status not in tuple(CaseStatus):
            raise InvalidInput(
                f"unknown status '{flt.status[:40]}'; use one of {', '.join(CaseStatus)}, "
                "active (open, escalated or appealed) or all",
                code="invalid_status",
            )
        query = query.where(Case.status == flt.status)
    if flt.category:
        query = query.where(Case.category == flt.category)
    if flt.source:
        query = query.where(Case.source == flt.source)
    if flt.overdue:
        query = query.where(col(Case.deadline_at).is_not(None), col(Case.deadline_at) < now)
    if flt.assigned_to is not None:
        query = query.where(Case.assigned_to == flt.assigned_to)
    if flt.unassigned:
        query = query.where(col(Case.assigned_to).is_(None))
    if flt.escalated_to:
        query = query.where(Case.escalated_to == flt.escalated_to)
    if cursor:
        try:
            if sort == "priority":
                p, i = (int(x) for x in cursor.split("."))
                if not (abs(p) <= MAX_ID and 0 <= i <= MAX_ID):
                    raise ValueError("out of range")
                query = query.where(tuple_(Case.priority, Case.id) < tuple_(p, i))
            else:
                i = int(cursor)
                if not 0 <= i <= MAX_ID:
                    raise ValueError("out of range")
                query = query.where(col(Case.id) > i if sort == "oldest" else col(Case.id) < i)
        except ValueError:
            raise InvalidInput(
                "the cursor is not one this API gave out", code="invalid_cursor"
            ) from None
    if sort == "priority":
        # the (status, priority, id) index read backwards: no sort, however long the queue
        query = query.order_by(col(Case.priority).desc(), col(Case.id).desc())
    else:
        query = query.order_by(col(Case.id).asc() if sort == "oldest" else col(Case.id).desc())
    rows = list(session.exec(query.limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1], sort) if len(rows) > limit else None
    return rows[:limit], next_cursor


def reprioritise(
    session: Session,
    *,
    policy: Policy,
    now: datetime | None = None,
    batch: int = 1000,
    only_overdue: bool = False,
) -> int:
    """Refresh the stored priority of open cases as they age and pass their deadline.

    `only_overdue` refreshes just the cases past their deadline (what reading the queue does).
    """
    now = now or utcnow()
    changed, last_id = 0, 0
    while True:
        query = select(Case).where(col(Case.status).in_(OPEN_STATUSES), col(Case.id) > last_id)
        if only_overdue:
            query = query.where(col(Case.deadline_at).is_not(None), col(Case.deadline_at) < now)
        rows = list(session.exec(query.order_by(col(Case.id)).limit(batch)))
        if not rows:
            return changed
        for case in rows:
            base = priority_for(
                case.category,
                case.source,
                opened_at=case.opened_at,
                now=now,
                deadline_at=case.deadline_at,
                policy=policy,
            )
            if case.status == CaseStatus.ESCALATED:
                base += 100
            if base > case.priority:
                case.priority = base
                changed += 1
        assert rows[-1].id is not None  # a row read from the database has its id
        last_id = rows[-1].id
        session.flush()


def set_priority(
    *, session: Session, case_id: int, priority: int, actor: str, reason: str = ""
) -> Case:
    """A moderator's own priority for an open case (the hourly job only ever raises it)."""
    if not -100_000 <= priority <= 100_000:
        raise InvalidInput(
            "the priority must be a whole number from -100000 to 100000", code="invalid_priority"
        )
    case = get_case(session, case_id, lock=True)
    if case.status not in OPEN_STATUSES:
        raise Conflict(
            f"case {case_id} is {case.status}; only open cases have a priority to set",
            code="not_open",
        )
    previous, case.priority = case.priority, priority
    record(
        session,
        actor=actor,
        action="case.priority",
        subject=f"case:{case_id}",
        reason=reason[:500] or None,
        details={"from": previous, "to": priority},
    )
    session.flush()
    return case
