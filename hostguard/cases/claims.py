"""Who works on a case: claiming, releasing and reassigning it; moderators' notes and case links."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from hostguard.accounts.models import CASE_WORKERS, Role, User
from hostguard.audit.service import record
from hostguard.cases.intake import _get, get_case
from hostguard.cases.measures import EscalationTarget
from hostguard.cases.models import Case, CaseLink, CaseNote, CaseStatus
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, PermissionDenied, TooLarge

CLAIMABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)
SENIOR_ROLES = frozenset({Role.SENIOR_MODERATOR, Role.ADMIN})
LEGAL_ROLES = frozenset({Role.LEGAL, Role.ADMIN})


def _may_work_on(case: Case, user: User) -> bool:
    if case.status == CaseStatus.ESCALATED:
        allowed = LEGAL_ROLES if case.escalated_to == EscalationTarget.LEGAL else SENIOR_ROLES
        return user.role in allowed
    return user.role in CASE_WORKERS


def _why_not(case: Case, user: User) -> str:
    """Why `_may_work_on` said no, in words the moderator can act on."""
    if case.status == CaseStatus.ESCALATED:
        who = (
            "legal or an admin"
            if case.escalated_to == EscalationTarget.LEGAL
            else "a senior moderator or an admin"
        )
        return f"case {case.id} is escalated to {case.escalated_to}; only {who} can take it"
    return f"your role ({user.role}) cannot work on cases"


def claim_case(*, session: Session, case_id: int, user: User, actor: str) -> Case:
    """Take the case for `user`. Exactly one of two concurrent claims wins: the claim is a single
    conditional UPDATE, which PostgreSQL re-checks after the competing transaction commits.

    Idempotent for the holder: claiming a case one already holds changes nothing and writes no
    audit record (the answer is the same case, with its first `claimed_at`)."""
    case = get_case(session, case_id)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status} and cannot be claimed", code="not_claimable"
        )
    if not _may_work_on(case, user):
        raise PermissionDenied(_why_not(case, user))
    if case.assigned_to == user.id:
        return case
    now = utcnow()
    result = session.exec(
        update(Case)
        .where(
            col(Case.id) == case_id,
            col(Case.status).in_(CLAIMABLE),
            col(Case.assigned_to).is_(None),
        )
        .values(assigned_to=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    if result.rowcount != 1 and case.assigned_to == user.id:  # a concurrent claim of the same user
        return case
    if result.rowcount != 1:
        raise Conflict(
            f"case {case_id} is already claimed by someone else", code="claimed_by_other"
        )
    record(session, actor=actor, action="case.claim", subject=f"case:{case_id}")
    return case


def release_case(*, session: Session, case_id: int, user: User, actor: str) -> Case:
    case = get_case(session, case_id, lock=True)
    if case.assigned_to is None:
        return case
    if case.assigned_to != user.id and user.role not in SENIOR_ROLES:
        raise Conflict(f"case {case_id} is claimed by someone else", code="claimed_by_other")
    previous = case.assigned_to
    case.assigned_to = case.claimed_at = None
    record(
        session,
        actor=actor,
        action="case.release",
        subject=f"case:{case_id}",
        details={"was_assigned_to": previous},
    )
    session.flush()
    return case


def reassign_case(
    *, session: Session, case_id: int, to_user_id: int, user: User, actor: str, reason: str = ""
) -> Case:
    case = get_case(session, case_id, lock=True)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status} and cannot be reassigned", code="not_claimable"
        )
    if case.assigned_to not in (None, user.id) and user.role not in SENIOR_ROLES | LEGAL_ROLES:
        raise PermissionDenied(
            "only the moderator holding the case or a senior moderator can reassign it"
        )
    target = _get(session, User, to_user_id)
    if target is None or not target.active or target.role not in CASE_WORKERS:
        raise InvalidInput(
            f"user {to_user_id} is not an active case worker", code="invalid_assignee"
        )
    if not _may_work_on(case, target):
        raise InvalidInput(
            f"user {to_user_id} cannot work on a case escalated to {case.escalated_to}",
            code="invalid_assignee",
        )
    case.assigned_to, case.claimed_at = target.id, utcnow()
    record(
        session,
        actor=actor,
        action="case.reassign",
        subject=f"case:{case_id}",
        reason=reason or None,
        details={"to": target.id},
    )
    session.flush()
    return case


def add_note(*, session: Session, case_id: int, body: str, actor: str) -> CaseNote:
    get_case(session, case_id)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("the note is empty", code="empty_note")
    if len(body) > 5000:
        raise TooLarge("a note may have at most 5000 characters")
    note = CaseNote(case_id=case_id, author=actor, body=body)
    session.add(note)
    session.flush()
    record(
        session,
        actor=actor,
        action="case.note",
        subject=f"case:{case_id}",
        details={"note": note.id},
    )
    return note


def link_cases(
    *, session: Session, case_id: int, other_case_id: int, actor: str, reason: str = ""
) -> CaseLink:
    if case_id == other_case_id:
        raise InvalidInput("a case cannot be linked to itself", code="invalid_link")
    get_case(session, case_id)
    get_case(session, other_case_id)
    a, b = sorted((case_id, other_case_id))
    link = session.exec(
        select(CaseLink).where(CaseLink.case_id == a, CaseLink.other_case_id == b)
    ).first()
    if link is None:
        link = CaseLink(case_id=a, other_case_id=b, reason=(reason or "")[:500], created_by=actor)
        session.add(link)
        session.flush()
        record(
            session,
            actor=actor,
            action="case.link",
            subject=f"case:{case_id}",
            details={"other": other_case_id},
        )
    return link


def linked_case_ids(session: Session, case_id: int) -> list[int]:
    rows = session.exec(
        select(CaseLink).where(
            or_(col(CaseLink.case_id) == case_id, col(CaseLink.other_case_id) == case_id)
        )
    )
    return sorted(r.other_case_id if r.case_id == case_id else r.case_id for r in rows)
