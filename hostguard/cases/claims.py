"""Who works on a case: claiming, releasing and reassigning it; moderators' notes and case links."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, col, select

from hostguard.accounts.models import CASE_WORKERS, Role, User
from hostguard.audit.service import hold_chain, record
from hostguard.cases import rollup
from hostguard.cases.intake import _get, get_case
from hostguard.cases.measures import EscalationTarget
from hostguard.cases.models import Case, CaseLink, CaseNote, CaseStatus
from hostguard.cases.queue import CaseFilter, claimable_candidates
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, PermissionDenied, TooLarge
from hostguard.policy import Policy
from hostguard.policy.model import Queue

CLAIMABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)
SENIOR_ROLES = frozenset({Role.SENIOR_MODERATOR, Role.ADMIN})
LEGAL_ROLES = frozenset({Role.LEGAL, Role.ADMIN})


ROLE_WORDS = {
    Role.MODERATOR: "moderators",
    Role.SENIOR_MODERATOR: "senior moderators",
    Role.LEGAL: "legal",
    Role.ADMIN: "admins",
}


def roles_in_words(roles: frozenset[str]) -> str:
    """ "senior moderators, legal or admins"."""
    words = [ROLE_WORDS[r] for r in ROLE_WORDS if r in roles]
    return " or ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def category_roles(case: Case, policy: Policy) -> frozenset[str] | None:
    """The roles the policy lets claim and decide this case's category (None: any case worker)."""
    return policy.moderation.roles_for(policy.case_category(case.category))


def queue_of(case: Case, policy: Policy) -> Queue | None:
    """The named queue the case is in (None: routed to a queue the policy no longer has)."""
    return policy.moderation.queues.get(case.queue) if case.queue else None


def may_work_queue(queue: Queue, user: User) -> bool:
    """Whether the user may work the queue's cases (admins work every queue)."""
    return user.role == Role.ADMIN or queue.admits(role=user.role, teams=list(user.teams or []))


def _outside_queue(case: Case, user: User, policy: Policy) -> Queue | None:
    queue = queue_of(case, policy)
    return queue if queue is not None and not may_work_queue(queue, user) else None


def _may_work_on(case: Case, user: User, policy: Policy) -> bool:
    roles = category_roles(case, policy)
    if roles is not None and user.role not in roles:
        return False
    if _outside_queue(case, user, policy) is not None:
        return False
    if case.status == CaseStatus.ESCALATED:
        allowed = LEGAL_ROLES if case.escalated_to == EscalationTarget.LEGAL else SENIOR_ROLES
        return user.role in allowed
    return user.role in CASE_WORKERS


def _why_not(case: Case, user: User, policy: Policy) -> str:
    """Why `_may_work_on` said no, in words the moderator can act on."""
    roles = category_roles(case, policy)
    if roles is not None and user.role not in roles:
        label = policy.categories[policy.case_category(case.category)].label
        who = roles_in_words(roles)
        return (
            f"case {case.id} is about {label.lower()}, a restricted category: only {who} may "
            f"claim and decide it; ask a senior moderator to take it"
        )
    queue = _outside_queue(case, user, policy)
    if queue is not None:
        workers = [roles_in_words(frozenset(queue.roles))] if queue.roles else []
        workers += [f"the team {t}" for t in queue.teams]
        return (
            f"case {case.id} is in the queue {queue.label}, which only {' or '.join(workers)} may "
            f"work; it is not one of your queues"
        )
    if case.status == CaseStatus.ESCALATED:
        who = (
            "legal or an admin"
            if case.escalated_to == EscalationTarget.LEGAL
            else "a senior moderator or an admin"
        )
        return f"case {case.id} is escalated to {case.escalated_to}; only {who} can take it"
    return f"your role ({user.role}) cannot work on cases"


def may_work_on(case: Case, user: User, *, policy: Policy) -> bool:
    """Whether `user` may claim and decide `case` (its category, its escalation, their role)."""
    return _may_work_on(case, user, policy)


def _refuse(case: Case, user: User, policy: Policy) -> PermissionDenied:
    roles = category_roles(case, policy)
    if roles is not None and user.role not in roles:
        code = "restricted_category"
    elif _outside_queue(case, user, policy) is not None:
        code = "not_your_queue"
    else:
        code = "forbidden"
    return PermissionDenied(_why_not(case, user, policy), code=code)


def lease_cutoff(policy: Policy, now: datetime) -> datetime:
    """A claim with no activity since this moment has lapsed."""
    return now - timedelta(minutes=policy.moderation.claim_lease_minutes)


def last_activity(case: Case) -> datetime | None:
    return case.claim_active_at or case.claimed_at


def lease_lapsed(case: Case, *, policy: Policy, now: datetime | None = None) -> bool:
    """Whether the case's claim has lapsed: claimed, and nothing done on it for the lease period."""
    active = last_activity(case)
    if case.assigned_to is None or active is None:
        return False
    return active < lease_cutoff(policy, now or utcnow())


def touch_claim(case: Case, *, actor: str, now: datetime | None = None) -> None:
    """The holder worked on the case: their claim's lease starts again."""
    if case.assigned_to is not None and actor == f"user:{case.assigned_to}":
        case.claim_active_at = now or utcnow()


def claim_case(*, session: Session, case_id: int, user: User, actor: str, policy: Policy) -> Case:
    """Take the case for `user`. Exactly one of two concurrent claims wins: the claim is a single
    conditional UPDATE, which PostgreSQL re-checks after the competing transaction commits.

    A case whose claim has lapsed (`moderation.claim_lease_minutes` without activity) can be
    claimed as if it were free; the audit record names whose claim lapsed.

    Idempotent for the holder: claiming a case one already holds changes nothing and writes no
    audit record (the answer is the same case, with its first `claimed_at`); only a lapsed
    claim of theirs that nobody took starts its lease again."""
    case = get_case(session, case_id)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status} and cannot be claimed", code="not_claimable"
        )
    if not _may_work_on(case, user, policy):
        raise _refuse(case, user, policy)
    now = utcnow()
    if case.assigned_to == user.id and not lease_lapsed(case, policy=policy, now=now):
        return case
    if case.assigned_to == user.id:  # back on a lapsed claim nobody took: the lease starts again
        session.exec(
            update(Case)
            .where(col(Case.id) == case_id, col(Case.assigned_to) == user.id)
            .values(claim_active_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(case)
        return case
    # locked before the UPDATE, so the claim knows whether it took an unassigned case (the
    # dashboard's open-case figures) and takes the row before the audit chain, as decisions do
    case = get_case(session, case_id, lock=True)
    previous = case.assigned_to
    lapsed = previous is not None and lease_lapsed(case, policy=policy, now=now)
    free: ColumnElement[bool] = col(Case.assigned_to).is_(None)
    if lapsed:
        free = or_(
            free,
            and_(
                col(Case.assigned_to) == previous,
                func.coalesce(col(Case.claim_active_at), col(Case.claimed_at))
                < lease_cutoff(policy, now),
            ),
        )
    result = session.exec(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.status).in_(CLAIMABLE), free)
        .values(assigned_to=user.id, claimed_at=now, claim_active_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    if result.rowcount != 1 and case.assigned_to == user.id:  # a concurrent claim of the same user
        return case
    if result.rowcount != 1:
        raise Conflict(
            f"case {case_id} is already claimed by someone else", code="claimed_by_other"
        )
    if previous is None:
        conn = session.connection()
        hold_chain(conn)
        rollup.claimed(conn, case)
    record(
        session,
        actor=actor,
        action="case.claim",
        subject=f"case:{case_id}",
        details={"lapsed_claim_of": previous} if lapsed else None,
    )
    return case


def next_case(
    *, session: Session, user: User, actor: str, policy: Policy, flt: CaseFilter
) -> Case | None:
    """Claim the most urgent case of the filter (a queue, a category, ...) this user may work:
    the highest priority unclaimed or lapsed open case; None when there is none. A case someone
    claims in the same moment is passed over for the next one."""
    if flt.queue:
        queue = policy.moderation.queues.get(flt.queue)
        if queue is None:
            raise InvalidInput(f"unknown queue '{flt.queue[:40]}'", code="invalid_queue")
        if not may_work_queue(queue, user):
            raise PermissionDenied(
                f"the queue {queue.label} is not one of your queues; pick one you work",
                code="not_your_queue",
            )
    for candidate in claimable_candidates(session, flt, policy=policy):
        if not _may_work_on(candidate, user, policy):
            continue
        assert candidate.id is not None  # read from the database
        try:
            with session.begin_nested():
                return claim_case(
                    session=session, case_id=candidate.id, user=user, actor=actor, policy=policy
                )
        except Conflict:
            continue
    return None


def take_over_case(
    *, session: Session, case_id: int, user: User, actor: str, policy: Policy, reason: str = ""
) -> Case:
    """A senior moderator (or an admin) takes a case claimed by someone else, lapsed or not;
    audited with whose claim it was and why."""
    if user.role not in SENIOR_ROLES:
        raise PermissionDenied(
            "only a senior moderator or an admin can take over a case claimed by someone else",
            code="not_senior",
        )
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise TooLarge("the reason may have at most 500 characters")
    case = get_case(session, case_id, lock=True)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status} and cannot be taken over", code="not_claimable"
        )
    if not _may_work_on(case, user, policy):
        raise _refuse(case, user, policy)
    if case.assigned_to == user.id:
        touch_claim(case, actor=actor)
        return case
    now = utcnow()
    previous, lapsed = case.assigned_to, lease_lapsed(case, policy=policy, now=now)
    case.assigned_to, case.claimed_at, case.claim_active_at = user.id, now, now
    record(
        session,
        actor=actor,
        action="case.take_over",
        subject=f"case:{case_id}",
        reason=reason or None,
        details={"from": previous, "lapsed": lapsed},
    )
    session.flush()
    return case


def release_case(*, session: Session, case_id: int, user: User, actor: str) -> Case:
    case = get_case(session, case_id, lock=True)
    if case.assigned_to is None:
        return case
    if case.assigned_to != user.id and user.role not in SENIOR_ROLES:
        raise Conflict(f"case {case_id} is claimed by someone else", code="claimed_by_other")
    previous = case.assigned_to
    case.assigned_to = case.claimed_at = case.claim_active_at = None
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
    *,
    session: Session,
    case_id: int,
    to_user_id: int,
    user: User,
    actor: str,
    policy: Policy,
    reason: str = "",
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
    if not _may_work_on(case, target, policy):
        raise InvalidInput(
            f"user {to_user_id} ({target.role}) cannot take this case: "
            + _why_not(case, target, policy).split("; ask")[0],
            code="invalid_assignee",
        )
    now = utcnow()
    case.assigned_to, case.claimed_at, case.claim_active_at = target.id, now, now
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
    case = get_case(session, case_id)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("the note is empty", code="empty_note")
    if len(body) > 5000:
        raise TooLarge("a note may have at most 5000 characters")
    note = CaseNote(case_id=case_id, author=actor, body=body)
    touch_claim(case, actor=actor)
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
