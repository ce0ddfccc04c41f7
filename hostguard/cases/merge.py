"""Merging duplicate cases about the same model into one: the surviving case keeps every notice,
order and piece of evidence, the duplicates close as `merged`, all or nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.appeals import appeal_url
from hostguard.cases.claims import _may_work_on, _refuse, link_cases
from hostguard.cases.intake import get_case, latest_decision
from hostguard.cases.measures import measure_for
from hostguard.cases.models import (
    Case,
    CaseEvidence,
    CaseStatus,
    Notice,
    NoticeItem,
    NoticeStatus,
    Notifier,
    OrderItem,
)
from hostguard.cases.notifications import queue_notification
from hostguard.cases.priority import add_months
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput
from hostguard.platform.models import ModelRepo
from hostguard.policy import Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MERGEABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)


def merge_cases(
    *,
    session: Session,
    runtime: Runtime,
    into: int,
    case_ids: list[int],
    user: User,
    actor: str,
    policy: Policy,
    reason: str = "",
) -> Case:
    """Merge the duplicates `case_ids` into the case `into`, all about the same model.

    Every case is checked before anything changes, so a refusal leaves every case untouched.
    The duplicates must be open or escalated, unclaimed or held by `user`, and cases `user` may
    work; the surviving case may be open or already decided. Their notices, orders and evidence
    move to the surviving case (each notifier is then told of its decision: now, if it is
    decided, or when it is), and each duplicate closes as `merged`, linked and audited.
    """
    others = [i for i in dict.fromkeys(case_ids) if i != into]
    if not others:
        raise InvalidInput(
            "select the duplicates and the case to keep: at least two cases", code="invalid_merge"
        )
    survivor = get_case(session, into, lock=True)
    if survivor.status == CaseStatus.MERGED:
        raise Conflict(
            f"case {into} was itself merged into case {survivor.merged_into}", code="not_mergeable"
        )
    duplicates = [get_case(session, i, lock=True) for i in others]
    problems = []
    for case in duplicates:
        if case.repo_pk != survivor.repo_pk:
            problems.append(f"case {case.id} is about another model (link the cases instead)")
        elif case.status not in MERGEABLE:
            problems.append(f"case {case.id} is {case.status}: only open cases can be merged")
        elif case.assigned_to not in (None, user.id):
            problems.append(f"case {case.id} is claimed by someone else")
        elif not _may_work_on(case, user, policy):
            problems.append(_refuse(case, user, policy).message)
    if survivor.status in MERGEABLE and not _may_work_on(survivor, user, policy):
        problems.append(_refuse(survivor, user, policy).message)
    if problems:
        raise Conflict("nothing was merged: " + "; ".join(problems), code="not_mergeable")
    assert survivor.id is not None  # read from the database
    now = utcnow()
    moved_notices: list[int] = []
    for case in duplicates:
        assert case.id is not None  # read from the database
        items = list(session.exec(select(NoticeItem).where(NoticeItem.case_id == case.id)))
        for item in items:
            already = session.exec(
                select(NoticeItem).where(
                    NoticeItem.notice_id == item.notice_id, NoticeItem.case_id == survivor.id
                )
            ).first()
            if already is not None:  # the same notice named both: keep one row
                session.delete(item)
            else:
                item.case_id = survivor.id
                moved_notices.append(item.notice_id)
        for order_item in session.exec(select(OrderItem).where(OrderItem.case_id == case.id)):
            if not session.exec(
                select(OrderItem).where(
                    OrderItem.order_id == order_item.order_id, OrderItem.case_id == survivor.id
                )
            ).first():
                order_item.case_id = survivor.id
        session.exec(
            update(CaseEvidence)
            .where(col(CaseEvidence.case_id) == case.id)
            .values(case_id=survivor.id)
            .execution_options(synchronize_session=False)
        )
        if survivor.status in MERGEABLE:
            survivor.priority = max(survivor.priority, case.priority)
            if case.deadline_at and (
                survivor.deadline_at is None or case.deadline_at < survivor.deadline_at
            ):
                survivor.deadline_at = case.deadline_at
            if case.legal_hold_until and (
                survivor.legal_hold_until is None
                or case.legal_hold_until > survivor.legal_hold_until
            ):
                survivor.legal_hold_until = case.legal_hold_until
        case.status, case.merged_into = CaseStatus.MERGED, survivor.id
        case.assigned_to = case.claimed_at = case.claim_active_at = None
        case.decided_at = now
        session.flush()
        link_cases(
            session=session,
            case_id=survivor.id,
            other_case_id=case.id,
            actor=actor,
            reason="duplicate merged",
        )
        record(
            session,
            actor=actor,
            action="case.merged",
            subject=f"case:{case.id}",
            reason=reason[:500] or None,
            details={"into": survivor.id},
        )
    record(
        session,
        actor=actor,
        action="case.merge",
        subject=f"case:{survivor.id}",
        reason=reason[:500] or None,
        details={"merged": others, "notices": moved_notices},
    )
    session.flush()
    if survivor.status not in MERGEABLE:
        _tell_of_decision(
            session, runtime, survivor=survivor, notice_ids=moved_notices, policy=policy
        )
    return survivor


def _tell_of_decision(
    session: Session, runtime: Runtime, *, survivor: Case, notice_ids: list[int], policy: Policy
) -> None:
    """Notices merged into a case already decided get that decision, as every notifier does."""
    decision = latest_decision(session, survivor.id) if survivor.id is not None else None
    if decision is None or survivor.id is None:
        return
    repo = session.get(ModelRepo, survivor.repo_pk)
    assert repo is not None  # cases.repo_pk is a foreign key
    appeal_until = add_months(decision.decided_at, policy.cases.appeal_months)
    for notice_id in notice_ids:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.id is not None  # a notice item's foreign key
        if notice.status != NoticeStatus.OPEN:
            continue
        notice.status, notice.decided_at = NoticeStatus.DECIDED, decision.decided_at
        notice.outcome = "founded" if measure_for(decision.action).restricts else "no_action"
        notifier = session.get(Notifier, notice.notifier_id) if notice.notifier_id else None
        if notifier is not None:
            notifier.decided += 1
        queue_notification(
            session,
            messages.notifier_decision(
                notice_id=notice.id,
                repo_id=repo.repo_id,
                action=decision.action,
                restrict_mode=decision.restrict_mode,
                ground_reference=decision.ground_reference,
                explanation=decision.explanation,
                automated=decision.automated,
                appeal_until=appeal_until,
                appeal_url=appeal_url(
                    runtime, case_id=survivor.id, appellant="notifier", ref=str(notice.id)
                ),
            ),
            recipient=f"notice:{notice.id}",
            email_enc=notice.email_enc,
            case_id=survivor.id,
        )
