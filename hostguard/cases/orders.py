"""Authority orders (DSA Art. 9): receiving and acknowledging them, feedback once decided."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.intake import (
    _clean_items,
    _get,
    latest_decision,
    lock_repos_for_cases,
    open_case,
)
from hostguard.cases.measures import measure_for
from hostguard.cases.models import (
    OPEN_STATUSES,
    AuthorityOrder,
    Case,
    CaseSource,
    Decision,
    OrderItem,
    OrderStatus,
)
from hostguard.cases.notifications import queue_notification
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput, NotFound
from hostguard.platform.service import get_or_create_repo
from hostguard.policy import Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


# The EU's member states as the EU writes them: ISO 3166-1 alpha-2, but EL for Greece.
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


def _check_member_state(value: str | None) -> str:
    """The issuing authority's member state, upper-cased; empty when the order names none."""
    state = (value or "").strip().upper()
    if state and state not in EU_MEMBER_STATES:
        hint = " (the EU writes Greece as EL)" if state == "GR" else ""
        raise InvalidInput(
            f"member state '{state[:8]}' is not an EU member state{hint}; use one of "
            f"{', '.join(sorted(EU_MEMBER_STATES))}",
            code="invalid_member_state",
        )
    return state


@dataclass
class OrderInput:
    authority: str
    reference: str
    legal_basis: str
    category: str
    items: list[str]
    member_state: str = ""
    explanation: str = ""
    territorial_scope: list[str] | None = None
    deadline_at: datetime | None = None
    feedback_to: str | None = None


def receive_order(
    *, session: Session, runtime: Runtime, actor: str, data: OrderInput, policy: Policy
) -> tuple[AuthorityOrder, list[Case]]:
    """Record an Art. 9 order and open (or join) a top-priority case for each item."""
    order, cases, _ = receive_order_once(
        session=session, runtime=runtime, actor=actor, data=data, policy=policy
    )
    return order, cases


def _existing_order(
    session: Session, *, actor: str, reference: str
) -> tuple[AuthorityOrder, list[Case]] | None:
    order = session.exec(
        select(AuthorityOrder).where(
            AuthorityOrder.created_by == actor, AuthorityOrder.reference == reference
        )
    ).first()
    if order is None:
        return None
    cases = list(
        session.exec(
            select(Case)
            .join(OrderItem, col(OrderItem.case_id) == Case.id)
            .where(OrderItem.order_id == order.id)
            .order_by(col(OrderItem.id))
        )
    )
    return order, cases


def receive_order_once(
    *, session: Session, runtime: Runtime, actor: str, data: OrderInput, policy: Policy
) -> tuple[AuthorityOrder, list[Case], bool]:
    """`receive_order`, idempotent per sender and reference: a repeat (a retry after a lost answer)
    returns the order already recorded and False instead of opening the cases again."""
    for field_name in ("authority", "reference", "legal_basis"):
        if not (getattr(data, field_name) or "").strip():
            raise InvalidInput(
                f"{field_name.replace('_', ' ')} is required", code=f"missing_{field_name}"
            )
    items = _clean_items(data.items, policy, hosts=runtime.settings.notice_host_set)
    category = policy.category(policy.case_category(data.category))
    scope = _check_territorial_scope(data.territorial_scope)
    member_state = _check_member_state(data.member_state)
    now = utcnow()
    if data.deadline_at is not None and data.deadline_at.tzinfo is None:
        raise InvalidInput(
            "give the deadline with a time zone (e.g. 2026-01-31T12:00:00Z)",
            code="invalid_deadline",
        )
    reference = data.reference.strip()[:200]
    if (existing := _existing_order(session, actor=actor, reference=reference)) is not None:
        return (*existing, False)
    # a retry of an order already recorded is answered even once its deadline has passed
    if data.deadline_at is not None and data.deadline_at <= now:
        raise InvalidInput(
            f"the deadline {data.deadline_at.isoformat()} has already passed; give the time by "
            "which the order must be acted on",
            code="invalid_deadline",
        )
    order = AuthorityOrder(
        authority=data.authority.strip()[:300],
        member_state=member_state,
        reference=reference,
        legal_basis=data.legal_basis.strip()[:2000],
        category=category.id,
        explanation=(data.explanation or "").strip()[:10000],
        items=items,
        territorial_scope=scope,
        deadline_at=data.deadline_at,
        received_at=now,
        created_by=actor,
        feedback_to_enc=runtime.keys.encrypt(data.feedback_to.strip())
        if data.feedback_to
        else None,
    )
    try:
        with session.begin_nested():  # a concurrent repeat commits first: answer its order
            session.add(order)
            session.flush()
    except IntegrityError:
        existing = _existing_order(session, actor=actor, reference=reference)
        if existing is None:
            raise
        return (*existing, False)
    assert order.id is not None  # flushed just above
    repos = [get_or_create_repo(session, repo_id=repo_id) for repo_id in items]
    repo_pks = []
    for r in repos:
        assert r.id is not None  # read or inserted (and flushed) by get_or_create_repo
        repo_pks.append(r.id)
    lock_repos_for_cases(session, repo_pks)
    cases = []
    for repo_id, repo in zip(items, repos, strict=True):
        case = open_case(
            session=session,
            repo=repo,
            source=CaseSource.ORDER,
            category=category.id,
            actor=actor,
            kind="order",
            ref=f"order:{order.id}",
            policy=policy,
            details={
                "order_id": order.id,
                "authority": order.authority,
                "reference": order.reference,
            },
            order_deadline=data.deadline_at,
            summary=f"Order {order.reference} from {order.authority}",
        )
        assert case.id is not None  # flushed by open_case
        session.add(OrderItem(order_id=order.id, case_id=case.id, repo_id=repo_id))
        cases.append(case)
    record(
        session,
        actor=actor,
        action="order.receive",
        subject=f"order:{order.id}",
        details={
            "authority": order.authority,
            "reference": order.reference,
            "cases": [c.id for c in cases],
        },
    )
    session.flush()
    return order, cases, True


def _check_territorial_scope(scope: Iterable[str] | None) -> list[str]:
    """Two-letter country codes, upper case, sorted; empty means worldwide."""
    scope = list(scope or [])
    if any(not isinstance(s, str) for s in scope):
        raise InvalidInput(
            "territorial scope must be two-letter country codes such as DE, FR",
            code="invalid_scope",
        )
    clean = sorted({s.strip().upper() for s in scope if s.strip()})
    if any(not re.fullmatch(r"[A-Z]{2}", s) for s in clean):
        raise InvalidInput(
            "territorial scope must be two-letter country codes such as DE, FR",
            code="invalid_scope",
        )
    return clean


def get_order(session: Session, order_id: int) -> AuthorityOrder:
    order = _get(session, AuthorityOrder, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist", code="order_not_found")
    return order


def acknowledge_order(*, session: Session, order_id: int, actor: str) -> AuthorityOrder:
    order = get_order(session, order_id)
    if order.acknowledged_at is None:
        order.acknowledged_at = utcnow()
        if order.status == OrderStatus.RECEIVED:
            order.status = OrderStatus.ACKNOWLEDGED
        record(session, actor=actor, action="order.acknowledge", subject=f"order:{order.id}")
    session.flush()
    return order


def order_feedback(session: Session, order: AuthorityOrder) -> messages.Message:
    """The Art. 9 feedback: whether and when effect was given, per the latest decisions on its items."""
    decisions = []
    for item in session.exec(select(OrderItem).where(OrderItem.order_id == order.id)):
        decision = latest_decision(session, item.case_id)
        if decision is not None:
            decisions.append(decision)
    acting = [d for d in decisions if measure_for(d.action).restricts]
    action = acting[0].action if acting else (decisions[0].action if decisions else None)
    return messages.order_feedback(
        authority=order.authority,
        reference=order.reference,
        items=list(order.items),
        acknowledged_at=order.acknowledged_at,
        effect_at=order.effect_at,
        action=action,
        explanation="; ".join(d.explanation for d in decisions[:3]),
    )


def _update_orders_after_decision(
    session: Session, case: Case, decision: Decision, actor: str
) -> None:
    for item in session.exec(select(OrderItem).where(OrderItem.case_id == case.id)):
        order = session.get(AuthorityOrder, item.order_id)
        if order is None or order.status in (OrderStatus.EFFECT_GIVEN, OrderStatus.NOT_GIVEN):
            continue
        if order.acknowledged_at is None:
            order.acknowledged_at = decision.decided_at
        pending = [
            i
            for i in session.exec(select(OrderItem).where(OrderItem.order_id == order.id))
            if (c := session.get(Case, i.case_id)) is not None
            and c.status in OPEN_STATUSES
            and c.id != case.id
        ]
        if pending:
            continue
        order.effect_at = decision.decided_at
        order.status = (
            OrderStatus.EFFECT_GIVEN
            if measure_for(decision.action).restricts
            else OrderStatus.NOT_GIVEN
        )
        msg = order_feedback(session, order)
        order.feedback = msg.body
        order.feedback_sent_at = utcnow()
        queue_notification(
            session,
            msg,
            recipient=f"order:{order.id}",
            email_enc=order.feedback_to_enc,
            case_id=case.id,
        )
        record(
            session,
            actor=actor,
            action="order.effect",
            subject=f"order:{order.id}",
            details={"status": order.status, "case": case.id},
        )
