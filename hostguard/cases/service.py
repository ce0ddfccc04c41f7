"""The notice-and-action workflow: intake, claims, decisions, appeals and misuse, as domain functions.

Every function takes `session` and `actor`, records an audit entry for each change, queues
platform actions and notifications as jobs in the same transaction, and never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hostguard.accounts.models import CASE_WORKERS, Role, User
from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.categories import Category, get_category, load_categories
from hostguard.cases.decisions import (
    DecisionAction,
    EscalationTarget,
    Ground,
    RestrictMode,
    measure_for,
    release_quarantine,
)
from hostguard.cases.misuse import Standing, notifier_outcome, notifier_penalty, uploader_outcome
from hostguard.cases.models import (
    OPEN_STATUSES,
    Appeal,
    AppealStatus,
    AuthorityOrder,
    Case,
    CaseEvidence,
    CaseLink,
    CaseNote,
    CaseSource,
    CaseStatus,
    Decision,
    Notice,
    NoticeItem,
    NoticeStatus,
    Notification,
    Notifier,
    NotifierStatus,
    OrderItem,
    OrderStatus,
    Sanction,
    StatementOfReasons,
)
from hostguard.cases.policy import CATEGORY_ALIASES, CasePolicy, case_policy
from hostguard.cases.priority import (
    UNRELIABLE_NOTIFIER_PENALTY,
    add_months,
    deadline_for,
    priority_for,
)
from hostguard.cases.reasons import ReasonsFacts, statement_of_reasons_text
from hostguard.cases.tdb import (
    AUTOMATED_SOURCES,
    StatementFacts,
    build_tdb_statement,
    person_names,
    validate_tdb_statement,
)
from hostguard.db import advisory_xact_lock
from hostguard.db.types import utcnow
from hostguard.errors import (
    Conflict,
    HostguardError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
)
from hostguard.hashing.reupload import remove_from_reupload_list
from hostguard.jobs.service import enqueue
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import ModelRepo, RepoStatus, Uploader, UploaderStatus
from hostguard.platform.service import get_or_create_repo, normalise_repo_id

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
CLAIMABLE = (CaseStatus.OPEN, CaseStatus.ESCALATED)
SENIOR_ROLES = frozenset({Role.SENIOR_MODERATOR, Role.ADMIN})
LEGAL_ROLES = frozenset({Role.LEGAL, Role.ADMIN})
# decisions whose sample-image hashes go on the internal re-upload lists
REUPLOAD_ACTIONS = frozenset(
    {DecisionAction.TAKE_DOWN, DecisionAction.SUSPEND_UPLOADER, DecisionAction.REPORT}
)


class RateLimited(HostguardError):
    """Too many notices from one client address; the web layer answers 429."""

    code = "rate_limited"


def client_digest(secret: str, value: str | None) -> str | None:
    """A keyed digest (so it cannot be reversed by trying every address) of an IP or e-mail."""
    if not value:
        return None
    return hmac.new(secret.encode(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


def normalise_category(category: str) -> str:
    return CATEGORY_ALIASES.get(category, category)


# --- opening cases ------------------------------------------------------------------------------

_OPEN_CASE_LOCK_SPACE = (
    7_366_822  # pg advisory lock space: (this, repo id) serialises opening cases
)


def lock_repos_for_cases(session: Session, repo_pks: Iterable[int]) -> None:
    """Serialise opening cases per model until the transaction ends (one open case per model).

    When a model has no open case there is no case row to lock, so two concurrent notices or hits
    would each open one. On PostgreSQL the second transaction waits here until the first commits
    and then finds its case; SQLite serialises writers anyway (BEGIN IMMEDIATE). An advisory lock,
    not a row lock on the repo, because `decide` updates the repo row while holding the case and
    audit locks: a repo row lock taken here before the case lock would deadlock with it. Callers
    opening cases for several models take all their locks first, in one order.
    """
    for pk in sorted(set(repo_pks)):
        advisory_xact_lock(session, pk & 0x7FFFFFFF, space=_OPEN_CASE_LOCK_SPACE)


def open_case(
    *,
    session: Session,
    repo: ModelRepo,
    source: str,
    category: str,
    actor: str,
    kind: str,
    ref: str | None = None,
    details: dict | None = None,
    automated: bool = False,
    summary: str = "",
    policy: CasePolicy | None = None,
    order_deadline: datetime | None = None,
    priority_penalty: int = 0,
) -> Case:
    """Open a case for the repo, or add this evidence to its open case (one open case per model).

    A decided case whose decision is appealed is active again, so a model can then have two: the
    appealed one, which reviews the old decision, and one opened since for new reports. New
    evidence joins the one that is not under appeal; only when the appealed case is the model's
    only active case does it join that one, so the appeal's reviewer sees it.

    `details` must never hold image bytes or hash-list contents: match details only. A category
    hostguard does not know (e.g. a hash list's own) is kept in the evidence and filed as `other`.
    """
    policy = policy or case_policy()
    categories = load_categories()
    details = dict(details or {})
    category = normalise_category(category)
    if category not in categories:
        details.setdefault("original_category", category)
        category = "other"
    now = utcnow()
    lock_repos_for_cases(session, [repo.id])
    active = session.exec(
        select(Case)
        .where(Case.repo_pk == repo.id, col(Case.status).in_(OPEN_STATUSES))
        .order_by(col(Case.id))
        .with_for_update()
    ).all()
    case = next(
        (c for c in active if c.status != CaseStatus.APPEALED), active[0] if active else None
    )
    prio = priority_for(category, source, notifier_penalty=priority_penalty, categories=categories)
    deadline = deadline_for(
        category=category,
        source=source,
        opened_at=now,
        policy=policy,
        order_deadline=order_deadline,
    )
    if case is None:
        case = Case(
            repo_pk=repo.id,
            category=category,
            source=source,
            priority=prio,
            summary=summary[:2000],
            deadline_at=deadline,
            automated=automated,
            opened_at=now,
        )
        session.add(case)
        session.flush()
        record(
            session,
            actor=actor,
            action="case.open",
            subject=f"case:{case.id}",
            details={"source": source, "category": category, "repo": repo.repo_id},
        )
    else:
        if prio > case.priority:
            case.priority, case.category, case.source = prio, category, source
        if case.deadline_at is None or deadline < case.deadline_at:
            case.deadline_at = deadline
        case.automated = case.automated or automated
        if case.status == CaseStatus.OPEN and summary and not case.summary:
            case.summary = summary[:2000]
    if categories[case.category].legal_hold or categories[category].legal_hold:
        hold = now + timedelta(days=policy.legal_hold_days)
        if case.legal_hold_until is None or case.legal_hold_until < hold:
            case.legal_hold_until = hold
    session.add(
        CaseEvidence(
            case_id=case.id, source=source, kind=kind, ref=ref, details=details, automated=automated
        )
    )
    record(
        session,
        actor=actor,
        action="case.evidence",
        subject=f"case:{case.id}",
        details={"source": source, "kind": kind, "ref": ref},
    )
    session.flush()
    return case


MAX_ID = 2**63 - 1  # larger ids cannot exist (and make the database driver overflow)


def _get(session: Session, model, ident: int, *, lock: bool = False):
    if not 0 < ident <= MAX_ID:
        return None
    return session.get(model, ident, with_for_update=lock)


def get_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    case = _get(session, Case, case_id, lock=lock)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", code="case_not_found")
    if lock:
        session.refresh(case)
    return case


# --- notices ------------------------------------------------------------------------------------


@dataclass
class NoticeInput:
    items: list[str]
    category: str
    explanation: str
    notifier_name: str | None = None
    notifier_email: str | None = None
    good_faith: bool = False


def _clean_items(items: Iterable[str], policy: CasePolicy) -> list[str]:
    items = list(items or [])
    if not items:
        raise InvalidInput("name at least one model (owner/name or its URL)", code="no_items")
    if len(items) > policy.max_notice_items:
        raise TooLarge(
            f"a notice may name at most {policy.max_notice_items} models; send several notices"
        )
    clean: list[str] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, str):
            raise InvalidInput(f"item {position} is not a model id", code="invalid_model_id")
        try:
            repo_id = normalise_repo_id(item)
        except InvalidInput as exc:
            raise InvalidInput(f"item {position}: {exc.message}", code="invalid_model_id") from None
        if repo_id not in clean:
            clean.append(repo_id)
    return clean


def _check_notice(
    data: NoticeInput, policy: CasePolicy, *, contact_required: bool
) -> tuple[list[str], Category]:
    items = _clean_items(data.items, policy)
    category = get_category(data.category)
    explanation = (data.explanation or "").strip()
    if not explanation:
        raise InvalidInput(
            "explain why the content is illegal or breaks the terms", code="missing_explanation"
        )
    if len(explanation) > policy.max_explanation_chars:
        raise TooLarge(f"the explanation is longer than {policy.max_explanation_chars} characters")
    if not data.good_faith:
        raise InvalidInput(
            "confirm that you believe in good faith that the notice is accurate and complete",
            code="missing_good_faith",
        )
    name = (data.notifier_name or "").strip()
    email = (data.notifier_email or "").strip()
    if len(name) > 200 or len(email) > 320:
        raise TooLarge("name or e-mail address is too long")
    if email and not EMAIL_RE.match(email):
        raise InvalidInput("the e-mail address does not look valid", code="invalid_email")
    if contact_required and not category.anonymous_notices and not (name and email):
        raise InvalidInput(
            "give your name and e-mail address (only notices about child sexual abuse "
            "material may be anonymous)",
            code="missing_contact",
        )
    return items, category


def _notifier_for(
    session: Session,
    *,
    source: str,
    email_digest: str | None,
    api_key_id: int | None,
    organisation: str | None,
) -> Notifier | None:
    if api_key_id is not None:
        notifier = session.exec(select(Notifier).where(Notifier.api_key_id == api_key_id)).first()
        if notifier is None:
            notifier = Notifier(kind=source, api_key_id=api_key_id, organisation=organisation)
            session.add(notifier)
    elif email_digest:
        notifier = session.exec(
            select(Notifier).where(Notifier.email_digest == email_digest)
        ).first()
        if notifier is None:
            notifier = Notifier(kind="public", email_digest=email_digest)
            session.add(notifier)
    else:
        return None
    session.flush()
    return notifier


def submit_notice(
    *,
    session: Session,
    runtime,
    actor: str,
    data: NoticeInput,
    source: str = CaseSource.NOTICE,
    api_key_id: int | None = None,
    organisation: str | None = None,
    client: str | None = None,
    policy: CasePolicy | None = None,
) -> tuple[Notice, list[Case]]:
    """Take in an Art. 16 notice (public or trusted flagger): one case per named model.

    Models hostguard has never seen are accepted (platforms host models older than hostguard).
    """
    policy = policy or case_policy()
    trusted = source == CaseSource.TRUSTED_FLAGGER
    items, category = _check_notice(data, policy, contact_required=not trusted)
    secret = runtime.keys.secret_key
    now = utcnow()
    client_key = client_digest(secret, client) if client and not trusted else None
    if client_key:
        recent = session.exec(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.client_digest == client_key, Notice.received_at > now - timedelta(hours=1)
            )
        ).one()
        if recent >= policy.public_notices_per_hour:
            raise RateLimited(
                f"at most {policy.public_notices_per_hour} notices per hour from one address; "
                "try again later"
            )
    email = (data.notifier_email or "").strip() or None
    notifier = _notifier_for(
        session,
        source=source,
        email_digest=client_digest(secret, email),
        api_key_id=api_key_id,
        organisation=organisation,
    )
    penalty = 0
    if notifier is not None:
        if (
            notifier.status == NotifierStatus.SUSPENDED
            and notifier.suspended_until
            and notifier.suspended_until > now
        ):
            raise PermissionDenied(
                f"notices from this notifier are not processed until {notifier.suspended_until:%d %B %Y} "
                "because most earlier notices were manifestly unfounded",
                code="notifier_suspended",
            )
        penalty = notifier_penalty(
            notifier.decided,
            notifier.unfounded,
            policy=policy.misuse,
            penalty=UNRELIABLE_NOTIFIER_PENALTY,
        )
        notifier.notices += 1
    name = (data.notifier_name or "").strip() or None
    notice = Notice(
        notifier_id=notifier.id if notifier else None,
        source=source,
        category=category.id,
        explanation=data.explanation.strip(),
        items=items,
        good_faith=True,
        client_digest=client_key,
        name_enc=runtime.keys.encrypt(name) if name else None,
        email_enc=runtime.keys.encrypt(email) if email else None,
        received_at=now,
    )
    session.add(notice)
    session.flush()
    repos = [get_or_create_repo(session, repo_id=repo_id) for repo_id in items]
    lock_repos_for_cases(session, [r.id for r in repos])
    cases = []
    for repo_id, repo in zip(items, repos, strict=True):
        case = open_case(
            session=session,
            repo=repo,
            source=source,
            category=category.id,
            actor=actor,
            kind="notice",
            ref=f"notice:{notice.id}",
            details={"notice_id": notice.id},
            policy=policy,
            priority_penalty=penalty,
            summary=f"{category.label}: {data.explanation.strip()[:200]}",
        )
        session.add(NoticeItem(notice_id=notice.id, case_id=case.id, repo_id=repo_id))
        cases.append(case)
    record(
        session,
        actor=actor,
        action="notice.receive",
        subject=f"notice:{notice.id}",
        details={
            "source": source,
            "category": category.id,
            "items": len(items),
            "cases": [c.id for c in cases],
            "anonymous": email is None,
        },
    )
    if email:
        msg = messages.notice_receipt(
            notice_id=notice.id, items=items, category_label=category.label, received_at=now
        )
        queue_notification(
            session,
            msg,
            recipient=f"notice:{notice.id}",
            email_enc=notice.email_enc,
            case_id=cases[0].id if cases else None,
        )
    session.flush()
    return notice, cases


# --- authority orders -----------------------------------------------------------------------------


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
    *, session: Session, runtime, actor: str, data: OrderInput, policy: CasePolicy | None = None
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
            .join(OrderItem, OrderItem.case_id == Case.id)
            .where(OrderItem.order_id == order.id)
            .order_by(col(OrderItem.id))
        )
    )
    return order, cases


def receive_order_once(
    *, session: Session, runtime, actor: str, data: OrderInput, policy: CasePolicy | None = None
) -> tuple[AuthorityOrder, list[Case], bool]:
    """`receive_order`, idempotent per sender and reference: a repeat (a retry after a lost answer)
    returns the order already recorded and False instead of opening the cases again."""
    policy = policy or case_policy()
    for field_name in ("authority", "reference", "legal_basis"):
        if not (getattr(data, field_name) or "").strip():
            raise InvalidInput(
                f"{field_name.replace('_', ' ')} is required", code=f"missing_{field_name}"
            )
    items = _clean_items(data.items, policy)
    category = get_category(normalise_category(data.category))
    scope = _check_territorial_scope(data.territorial_scope)
    now = utcnow()
    if data.deadline_at is not None and data.deadline_at.tzinfo is None:
        raise InvalidInput(
            "give the deadline with a time zone (e.g. 2026-01-31T12:00:00Z)",
            code="invalid_deadline",
        )
    reference = data.reference.strip()[:200]
    if (existing := _existing_order(session, actor=actor, reference=reference)) is not None:
        return (*existing, False)
    order = AuthorityOrder(
        authority=data.authority.strip()[:300],
        member_state=(data.member_state or "").strip().upper()[:8],
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
    repos = [get_or_create_repo(session, repo_id=repo_id) for repo_id in items]
    lock_repos_for_cases(session, [r.id for r in repos])
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


# --- claims -------------------------------------------------------------------------------------


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
    conditional UPDATE, which PostgreSQL re-checks after the competing transaction commits."""
    case = get_case(session, case_id)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status} and cannot be claimed", code="not_claimable"
        )
    if not _may_work_on(case, user):
        raise PermissionDenied(_why_not(case, user))
    now = utcnow()
    result = session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            col(Case.status).in_(CLAIMABLE),
            or_(col(Case.assigned_to).is_(None), Case.assigned_to == user.id),
        )
        .values(assigned_to=user.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
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
        select(CaseLink).where(or_(CaseLink.case_id == case_id, CaseLink.other_case_id == case_id))
    )
    return sorted(r.other_case_id if r.case_id == case_id else r.case_id for r in rows)


# --- decisions ------------------------------------------------------------------------------------


@dataclass
class DecisionInput:
    action: str
    ground: str | None
    ground_reference: str | None
    category: str | None
    explanation: str | None
    restrict_mode: str | None = None
    escalate_to: str | None = None
    territorial_scope: list[str] | None = None
    end_date: datetime | None = None
    notices_unfounded: bool = False  # no action, and the notices were manifestly unfounded


def check_decision(
    data: DecisionInput, *, now: datetime | None = None
) -> tuple[DecisionAction, Category]:
    """Every decision needs an action, a ground with its reference, a category and an explanation."""
    try:
        action = DecisionAction(data.action)
    except ValueError:
        raise InvalidInput(
            f"unknown action '{data.action}'; use one of: {', '.join(a.value for a in DecisionAction)}",
            code="invalid_action",
        ) from None
    if not data.ground:
        raise InvalidInput(
            "a decision needs a ground: illegal_content (with the law) or terms_of_service "
            "(with the clause)",
            code="missing_ground",
        )
    try:
        Ground(data.ground)
    except ValueError:
        raise InvalidInput(
            "ground must be illegal_content or terms_of_service", code="invalid_ground"
        ) from None
    if not (data.ground_reference or "").strip():
        what = (
            "the legal provision"
            if data.ground == Ground.ILLEGAL_CONTENT
            else "the terms-of-service clause"
        )
        raise InvalidInput(
            f"name {what} the decision relies on (ground_reference)",
            code="missing_ground_reference",
        )
    if len(data.ground_reference) > 500:
        raise TooLarge("ground_reference may have at most 500 characters")
    if not data.category:
        raise InvalidInput("a decision needs a category", code="missing_category")
    category = get_category(normalise_category(data.category))
    if not (data.explanation or "").strip():
        raise InvalidInput(
            "explain the decision (it goes into the statement of reasons)",
            code="missing_explanation",
        )
    if len(data.explanation) > 2000:
        raise TooLarge("the explanation may have at most 2000 characters")
    if action == DecisionAction.RESTRICT and (data.restrict_mode or RestrictMode.GATE) not in tuple(
        RestrictMode
    ):
        raise InvalidInput("restrict_mode must be gate or label", code="invalid_restrict_mode")
    if action == DecisionAction.ESCALATE and (
        data.escalate_to or EscalationTarget.SENIOR
    ) not in tuple(EscalationTarget):
        raise InvalidInput("escalate_to must be senior or legal", code="invalid_escalation")
    _check_territorial_scope(data.territorial_scope)
    if data.end_date is not None:
        if data.end_date.tzinfo is None:
            raise InvalidInput(
                "give the end date with a time zone (e.g. 2026-01-31T12:00:00Z)",
                code="invalid_end_date",
            )
        if data.end_date <= (now or utcnow()):
            raise InvalidInput(
                "the end date of the measure must be in the future", code="invalid_end_date"
            )
    return action, category


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


def latest_decision(
    session: Session, case_id: int, *, include_escalations: bool = False
) -> Decision | None:
    query = select(Decision).where(Decision.case_id == case_id).order_by(col(Decision.id).desc())
    if not include_escalations:
        query = query.where(Decision.action != DecisionAction.ESCALATE)
    return session.exec(query).first()


def _uploader_recipient(repo: ModelRepo, uploader: Uploader | None) -> str:
    return f"uploader:{uploader.platform_id}" if uploader else f"repo:{repo.repo_id}"


def _repo_and_uploader(session: Session, case: Case) -> tuple[ModelRepo, Uploader | None]:
    repo = session.get(ModelRepo, case.repo_pk)
    uploader = session.get(Uploader, repo.uploader_id) if repo and repo.uploader_id else None
    return repo, uploader


def appeal_token(runtime, *, case_id: int, appellant: str, ref: str) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(runtime.keys.secret_key, salt="hostguard.appeal").dumps(
        {"c": case_id, "a": appellant, "r": ref}
    )


def read_appeal_token(runtime, token: str, *, max_age_days: int = 200) -> dict:
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

    from hostguard.errors import AuthenticationRequired

    try:
        return URLSafeTimedSerializer(runtime.keys.secret_key, salt="hostguard.appeal").loads(
            token, max_age=max_age_days * 86400
        )
    except SignatureExpired:
        raise AuthenticationRequired("this appeal link has expired", code="token_expired") from None
    except BadSignature:
        raise AuthenticationRequired(
            "this appeal link is not valid", code="token_invalid"
        ) from None


def appeal_url(runtime, *, case_id: int, appellant: str, ref: str) -> str:
    token = appeal_token(runtime, case_id=case_id, appellant=appellant, ref=ref)
    return f"{runtime.settings.base_url.rstrip('/')}/notices/appeal?token={token}"


def _add_to_reupload_list(session: Session, *, repo: ModelRepo, actor: str, case_id: int) -> bool:
    """Take-downs put the model's sample-image hashes on the internal re-upload list (hashing owns it)."""
    try:
        from hostguard.hashing.service import add_to_reupload_list
    except ImportError:
        record(
            session, actor=actor, action="case.reupload_list_unavailable", subject=f"case:{case_id}"
        )
        return False
    add_to_reupload_list(session=session, repo=repo, actor=actor, case_id=case_id)
    return True


def decide(
    *,
    session: Session,
    runtime,
    case_id: int,
    user: User,
    actor: str,
    data: DecisionInput,
    policy: CasePolicy | None = None,
) -> Decision:
    """Decide a claimed case: platform action, audit, statement of reasons, notifications, strikes,
    order feedback — all in the caller's transaction."""
    policy = policy or case_policy()
    action, category = check_decision(data)
    case = get_case(session, case_id, lock=True)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status}; only open or escalated cases can be decided",
            code="not_decidable",
        )
    if case.assigned_to is None:
        raise Conflict(f"claim case {case_id} before deciding it", code="not_claimed")
    if case.assigned_to != user.id:
        raise Conflict(f"case {case_id} is claimed by someone else", code="claimed_by_other")
    if not _may_work_on(case, user):
        raise PermissionDenied(_why_not(case, user))
    now = utcnow()
    repo, uploader = _repo_and_uploader(session, case)
    evidence = list(session.exec(select(CaseEvidence).where(CaseEvidence.case_id == case.id)))
    automated = case.automated or any(e.automated for e in evidence)
    decision = Decision(
        case_id=case.id,
        action=action,
        ground=data.ground,
        ground_reference=data.ground_reference.strip(),
        category=category.id,
        explanation=data.explanation.strip(),
        restrict_mode=(data.restrict_mode or RestrictMode.GATE)
        if action == DecisionAction.RESTRICT
        else None,
        escalated_to=(data.escalate_to or EscalationTarget.SENIOR)
        if action == DecisionAction.ESCALATE
        else None,
        territorial_scope=_check_territorial_scope(data.territorial_scope),
        end_date=data.end_date,
        automated=automated,
        decided_by=user.id,
        actor=actor,
        decided_at=now,
    )
    session.add(decision)
    session.flush()
    case.category = category.id
    record(
        session,
        actor=actor,
        action=f"case.decide.{action}",
        subject=f"case:{case.id}",
        reason=decision.explanation[:500],
        details={
            "decision": decision.id,
            "ground": decision.ground,
            "ground_reference": decision.ground_reference,
            "category": category.id,
        },
    )
    if action == DecisionAction.ESCALATE:
        case.status, case.escalated_to = CaseStatus.ESCALATED, decision.escalated_to
        case.assigned_to = case.claimed_at = None
        case.priority += 100
        session.flush()
        return decision

    measure = measure_for(action)
    case.status, case.decided_at = CaseStatus.DECIDED, now
    case.assigned_to = case.claimed_at = None
    if category.legal_hold or action == DecisionAction.REPORT:
        case.legal_hold_until = max(
            filter(None, [case.legal_hold_until, now + timedelta(days=policy.legal_hold_days)])
        )

    statement = None
    if measure.restricts:
        statement = _statement_of_reasons(
            session,
            runtime,
            case=case,
            decision=decision,
            repo=repo,
            uploader=uploader,
            category=category,
            evidence=evidence,
            policy=policy,
        )
        for kind in measure.platform_actions:
            queue_action(
                session,
                PlatformAction(
                    kind=kind,
                    repo_id=repo.repo_id,
                    repo_type=repo.repo_type,
                    uploader_platform_id=uploader.platform_id if uploader else None,
                    case_id=case.id,
                    message=statement.text if kind != "suspend_uploader" else "",
                    extra={"decision_id": decision.id, "restrict_mode": decision.restrict_mode},
                ),
                dedupe_key=f"case:{case.id}:decision:{decision.id}:{kind}",
            )
        repo.status = (
            RepoStatus.RESTRICTED if action == DecisionAction.RESTRICT else RepoStatus.TAKEN_DOWN
        )
        if action in REUPLOAD_ACTIONS:
            _add_to_reupload_list(session, repo=repo, actor=actor, case_id=case.id)
        if uploader is not None:
            _apply_uploader_misuse(
                session,
                case=case,
                decision=decision,
                uploader=uploader,
                actor=actor,
                policy=policy,
                now=now,
            )
        msg = messages.uploader_statement(repo_id=repo.repo_id, statement_text=statement.text)
        queue_notification(
            session,
            msg,
            recipient=_uploader_recipient(repo, uploader),
            email_enc=uploader.email_enc if uploader else None,
            case_id=case.id,
        )
    else:  # the model stays as it is: a quarantine hostguard put on it ends now
        release_quarantine(session, case=case, decision=decision, repo=repo, actor=actor)
    if action == DecisionAction.REPORT:
        record(
            session,
            actor=actor,
            action="case.report_authorities",
            subject=f"case:{case.id}",
            details={"decision": decision.id},
        )

    _notify_notifiers(
        session,
        runtime,
        case=case,
        decision=decision,
        repo=repo,
        policy=policy,
        unfounded=data.notices_unfounded and action == DecisionAction.NO_ACTION,
        actor=actor,
    )
    _update_orders_after_decision(session, case, decision, actor)
    session.flush()
    return decision


def _statement_of_reasons(
    session: Session,
    runtime,
    *,
    case: Case,
    decision: Decision,
    repo: ModelRepo,
    uploader: Uploader | None,
    category: Category,
    evidence: list[CaseEvidence],
    policy: CasePolicy,
) -> StatementOfReasons:
    sources = {e.source for e in evidence} | {case.source}
    source = next((s for s in ("order", "trusted_flagger", "notice") if s in sources), case.source)
    authority = next((e.details.get("authority") for e in evidence if e.kind == "order"), None)
    automated_detection = bool(sources & AUTOMATED_SOURCES)
    hits = [e for e in evidence if e.source in AUTOMATED_SOURCES]
    facts_text = _facts_text(case=case, evidence=evidence, source=source)
    appeal_until = add_months(decision.decided_at, policy.appeal_months)
    url = (
        appeal_url(runtime, case_id=case.id, appellant="uploader", ref=uploader.platform_id)
        if uploader
        else None
    )
    text = statement_of_reasons_text(
        ReasonsFacts(
            case_id=case.id,
            repo_id=repo.repo_id,
            action=decision.action,
            ground=decision.ground,
            ground_reference=decision.ground_reference,
            explanation=decision.explanation,
            category_label=category.label,
            source=source,
            decided_at=decision.decided_at,
            facts=facts_text,
            restrict_mode=decision.restrict_mode,
            automated_detection=automated_detection,
            territorial_scope=tuple(decision.territorial_scope) or None,
            end_date=decision.end_date.date() if decision.end_date else None,
            appeal_until=appeal_until,
            appeal_url=url,
            authority=authority,
        )
    )
    private = statement_private_names(session, runtime, case_id=case.id)
    tdb = build_tdb_statement(
        StatementFacts(
            statement_id=decision.id,
            action=decision.action,
            ground=decision.ground,
            ground_reference=decision.ground_reference,
            explanation=decision.explanation,
            category=category,
            source=source,
            decision_facts=facts_text,
            content_date=(repo.created_at or case.opened_at).date(),
            application_date=decision.decided_at.date(),
            automated_detection=automated_detection,
            restrict_mode=decision.restrict_mode,
            legal_hold=case.legal_hold_until is not None,
            sample_images=bool(hits),
            territorial_scope=tuple(s for s in decision.territorial_scope) or None,
            end_date_account_restriction=decision.end_date.date()
            if decision.end_date and decision.action == DecisionAction.SUSPEND_UPLOADER
            else None,
            source_identity=authority if source == "order" else None,
            puid_prefix=runtime.settings.tdb_puid_prefix,
            private_names=tuple(private),
        )
    )
    problems = validate_tdb_statement(tdb)
    if problems:  # a bug in the builder: refuse rather than store an invalid statement
        raise InvalidInput(
            "the statement of reasons is not valid for the Transparency Database: "
            + "; ".join(problems[:3]),
            code="invalid_statement",
        )
    statement = StatementOfReasons(
        decision_id=decision.id, case_id=case.id, puid=tdb["puid"], text=text, tdb=tdb
    )
    session.add(statement)
    session.flush()
    record(
        session,
        actor=decision.actor,
        action="case.statement_of_reasons",
        subject=f"case:{case.id}",
        details={"statement": statement.id, "puid": statement.puid},
    )
    return statement


def statement_private_names(session: Session, runtime, *, case_id: int) -> tuple[str, ...]:
    """Names the Transparency Database form of a case's statements must not carry: the repo id
    (it holds the uploader's user name), the uploader's user name, and the names and e-mail
    addresses the notifiers gave (decrypted here, never stored in the clear)."""
    get_case(session, case_id)  # NotFound for a case that does not exist
    return private_names_by_case(session, runtime, [case_id])[case_id]


def private_names_by_case(session: Session, runtime, case_ids) -> dict[int, tuple[str, ...]]:
    """`statement_private_names` of many cases in four queries, whatever their number (exports)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    cases = session.exec(select(Case).where(col(Case.id).in_(ids))).all()
    repos = {
        r.id: r
        for r in session.exec(
            select(ModelRepo).where(col(ModelRepo.id).in_({c.repo_pk for c in cases}))
        )
    }
    uploader_ids = {r.uploader_id for r in repos.values() if r.uploader_id}
    uploaders = {
        u.id: u for u in session.exec(select(Uploader).where(col(Uploader.id).in_(uploader_ids)))
    }
    names: dict[int, list[str]] = {}
    for case in cases:
        repo = repos[case.repo_pk]
        uploader = uploaders.get(repo.uploader_id)
        names[case.id] = [repo.repo_id, *repo.repo_id.split("/")]
        if uploader and uploader.username:
            names[case.id].append(uploader.username)
    notices = session.exec(
        select(NoticeItem.case_id, Notice.name_enc, Notice.email_enc)
        .join(Notice, NoticeItem.notice_id == Notice.id)
        .where(col(NoticeItem.case_id).in_(ids))
        .order_by(col(Notice.id))
    )
    for case_id, name_enc, email_enc in notices:
        names[case_id] += person_names(
            runtime.keys.decrypt_str(name_enc), runtime.keys.decrypt_str(email_enc)
        )
    return {case_id: tuple(dict.fromkeys(found)) for case_id, found in names.items()}


def _facts_text(*, case: Case, evidence: list[CaseEvidence], source: str) -> str:
    """Facts and circumstances, in words that hold no personal data."""
    notices = sum(1 for e in evidence if e.kind == "notice")
    orders = sum(1 for e in evidence if e.kind == "order")
    hits = [e for e in evidence if e.source in AUTOMATED_SOURCES]
    parts = ["The decision concerns an AI model repository hosted on the platform."]
    if notices:
        parts.append(f"We received {notices} notice(s) about it.")
    if orders:
        parts.append(f"We received {orders} order(s) from a competent authority about it.")
    if hits:
        parts.append(
            f"Automated checks produced {len(hits)} finding(s): "
            + ", ".join(sorted({e.kind.replace("_", " ") for e in hits}))
            + "."
        )
    parts.append("A moderator reviewed the repository and the evidence before deciding.")
    return " ".join(parts)


def _notify_notifiers(
    session: Session,
    runtime,
    *,
    case: Case,
    decision: Decision,
    repo: ModelRepo,
    policy: CasePolicy,
    unfounded: bool,
    actor: str,
) -> None:
    appeal_until = add_months(decision.decided_at, policy.appeal_months)
    query = (
        select(Notice)
        .join(NoticeItem, NoticeItem.notice_id == Notice.id)
        .where(NoticeItem.case_id == case.id)
    )
    for notice in session.exec(query).unique():
        first_decision = notice.status == NoticeStatus.OPEN
        notice.status, notice.decided_at = NoticeStatus.DECIDED, decision.decided_at
        notice.outcome = (
            "unfounded"
            if unfounded
            else ("founded" if measure_for(decision.action).restricts else "no_action")
        )
        if first_decision and notice.notifier_id:
            notifier = session.get(Notifier, notice.notifier_id)
            notifier.decided += 1
            if unfounded:
                notifier.unfounded += 1
                _apply_notifier_misuse(
                    session, notifier=notifier, case=case, actor=actor, policy=policy
                )
        msg = messages.notifier_decision(
            notice_id=notice.id,
            repo_id=repo.repo_id,
            action=decision.action,
            restrict_mode=decision.restrict_mode,
            ground_reference=decision.ground_reference,
            explanation=decision.explanation,
            automated=decision.automated,
            appeal_until=appeal_until,
            appeal_url=appeal_url(
                runtime, case_id=case.id, appellant="notifier", ref=str(notice.id)
            ),
        )
        queue_notification(
            session,
            msg,
            recipient=f"notice:{notice.id}",
            email_enc=notice.email_enc,
            case_id=case.id,
        )


def _apply_uploader_misuse(
    session: Session,
    *,
    case: Case,
    decision: Decision,
    uploader: Uploader,
    actor: str,
    policy: CasePolicy,
    now: datetime,
) -> None:
    uploader.strikes += 1
    if decision.action == DecisionAction.SUSPEND_UPLOADER:
        until = decision.end_date or now + timedelta(days=policy.misuse.uploader_suspension_days)
        uploader.status, uploader.suspended_until = UploaderStatus.SUSPENDED, until
        session.add(
            Sanction(
                subject=f"uploader:{uploader.platform_id}",
                action="suspend",
                reason="illegal_content",
                case_id=case.id,
                until=until,
            )
        )
        return
    outcome = uploader_outcome(
        uploader.strikes,
        already_warned=uploader.status != UploaderStatus.ACTIVE,
        policy=policy.misuse,
    )
    if outcome == Standing.WARN:
        uploader.status = UploaderStatus.WARNED
        session.add(
            Sanction(
                subject=f"uploader:{uploader.platform_id}",
                action="warn",
                reason="illegal_content",
                case_id=case.id,
            )
        )
        queue_notification(
            session,
            messages.uploader_warning(
                strikes=uploader.strikes, suspend_at=policy.misuse.uploader_suspend_at
            ),
            recipient=f"uploader:{uploader.platform_id}",
            email_enc=uploader.email_enc,
            case_id=case.id,
        )
    elif outcome == Standing.SUSPEND and uploader.status != UploaderStatus.SUSPENDED:
        until = now + timedelta(days=policy.misuse.uploader_suspension_days)
        uploader.status, uploader.suspended_until = UploaderStatus.SUSPENDED, until
        session.add(
            Sanction(
                subject=f"uploader:{uploader.platform_id}",
                action="suspend",
                reason="illegal_content",
                case_id=case.id,
                until=until,
            )
        )
        queue_action(
            session,
            PlatformAction(
                kind="suspend_uploader",
                uploader_platform_id=uploader.platform_id,
                case_id=case.id,
                extra={"until": until.isoformat(), "reason": "repeated illegal content"},
            ),
            dedupe_key=f"case:{case.id}:misuse-suspend:{uploader.platform_id}",
        )
    record(
        session,
        actor=actor,
        action="uploader.strike",
        subject=f"uploader:{uploader.platform_id}",
        details={"strikes": uploader.strikes, "outcome": outcome, "case": case.id},
    )


def _apply_notifier_misuse(
    session: Session, *, notifier: Notifier, case: Case, actor: str, policy: CasePolicy
) -> None:
    outcome = notifier_outcome(
        notifier.decided,
        notifier.unfounded,
        already_warned=notifier.warned_at is not None,
        policy=policy.misuse,
    )
    if outcome == Standing.WARN:
        notifier.status, notifier.warned_at = NotifierStatus.WARNED, utcnow()
        session.add(
            Sanction(
                subject=f"notifier:{notifier.id}",
                action="warn",
                reason="unfounded_notices",
                case_id=case.id,
            )
        )
        latest = session.exec(
            select(Notice).where(Notice.notifier_id == notifier.id).order_by(col(Notice.id).desc())
        ).first()
        queue_notification(
            session,
            messages.notifier_warning(decided=notifier.decided, unfounded=notifier.unfounded),
            recipient=f"notifier:{notifier.id}",
            email_enc=latest.email_enc if latest else None,
        )
    elif outcome == Standing.SUSPEND and notifier.status != NotifierStatus.SUSPENDED:
        until = utcnow() + timedelta(days=policy.misuse.notifier_suspension_days)
        notifier.status, notifier.suspended_until = NotifierStatus.SUSPENDED, until
        session.add(
            Sanction(
                subject=f"notifier:{notifier.id}",
                action="suspend",
                reason="unfounded_notices",
                case_id=case.id,
                until=until,
            )
        )
    if outcome != Standing.OK:
        record(
            session,
            actor=actor,
            action=f"notifier.{outcome}",
            subject=f"notifier:{notifier.id}",
            details={"decided": notifier.decided, "unfounded": notifier.unfounded},
        )


# --- appeals --------------------------------------------------------------------------------------


def file_appeal(
    *,
    session: Session,
    case_id: int,
    appellant: str,
    reason: str,
    actor: str,
    notice_id: int | None = None,
    policy: CasePolicy | None = None,
    now: datetime | None = None,
) -> Appeal:
    """Art. 20: the uploader or a notifier contests the latest decision within the appeal window."""
    policy = policy or case_policy()
    now = now or utcnow()
    if appellant not in ("uploader", "notifier"):
        raise InvalidInput("appellant must be uploader or notifier", code="invalid_appellant")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the decision is wrong", code="missing_reason")
    if len(reason) > 5000:
        raise TooLarge("the reason may have at most 5000 characters")
    case = get_case(session, case_id, lock=True)
    decision = latest_decision(session, case_id)
    if decision is None or case.status not in (CaseStatus.DECIDED, CaseStatus.APPEALED):
        raise Conflict(f"case {case_id} has no decision to appeal", code="nothing_to_appeal")
    if now > add_months(decision.decided_at, policy.appeal_months):
        raise Conflict(
            f"the appeal window closed on {add_months(decision.decided_at, policy.appeal_months):%d %B %Y}",
            code="appeal_window_closed",
        )
    if appellant == "notifier":
        if (
            notice_id is None
            or not session.exec(
                select(NoticeItem).where(
                    NoticeItem.notice_id == notice_id, NoticeItem.case_id == case_id
                )
            ).first()
        ):
            raise InvalidInput(
                "a notifier's appeal must name a notice about this case", code="invalid_notice"
            )
    elif not measure_for(decision.action).restricts:
        raise Conflict(
            "the uploader can only appeal a decision that restricted the model",
            code="nothing_to_appeal",
        )
    # one appeal per appellant (and notice) per decision, whatever became of it: a link that keeps
    # working for six months must not file a new complaint each time it is used
    existing = session.exec(
        select(Appeal)
        .where(
            Appeal.decision_id == decision.id,
            Appeal.appellant == appellant,
            col(Appeal.notice_id).is_(None) if notice_id is None else Appeal.notice_id == notice_id,
        )
        .order_by(col(Appeal.id))
    ).first()
    if existing:
        if existing.status == AppealStatus.OPEN:
            raise Conflict(
                f"appeal {existing.id} against this decision is already open; you will be told "
                "the outcome",
                code="appeal_open",
            )
        raise Conflict(
            f"appeal {existing.id} against this decision was already decided "
            f"({existing.outcome}); a decision can be appealed once",
            code="appeal_decided",
        )
    appeal = Appeal(
        case_id=case_id,
        decision_id=decision.id,
        appellant=appellant,
        notice_id=notice_id,
        reason=reason,
        actor=actor,
        filed_at=now,
    )
    session.add(appeal)
    case.status = CaseStatus.APPEALED
    session.flush()
    record(
        session,
        actor=actor,
        action="appeal.file",
        subject=f"case:{case_id}",
        details={"appeal": appeal.id, "appellant": appellant, "decision": decision.id},
    )
    return appeal


def get_appeal(session: Session, appeal_id: int) -> Appeal:
    appeal = _get(session, Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist", code="appeal_not_found")
    return appeal


def decide_appeal(
    *,
    session: Session,
    runtime,
    appeal_id: int,
    user: User,
    actor: str,
    outcome: str,
    explanation: str,
) -> Appeal:
    """A different, senior moderator decides; overturning reverses the platform action."""
    if outcome not in ("upheld", "overturned"):
        raise InvalidInput(
            "outcome must be upheld (keep the decision) or overturned", code="invalid_outcome"
        )
    explanation = (explanation or "").strip()
    if not explanation:
        raise InvalidInput("explain the appeal decision", code="missing_explanation")
    if len(explanation) > 2000:
        raise TooLarge("the explanation may have at most 2000 characters")
    if user.role != Role.SENIOR_MODERATOR:
        raise PermissionDenied("appeals are decided by a senior moderator")
    appeal = _get(session, Appeal, appeal_id, lock=True)
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist", code="appeal_not_found")
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(f"appeal {appeal_id} is already decided", code="appeal_decided")
    decision = session.get(Decision, appeal.decision_id)
    if decision.decided_by == user.id:
        raise PermissionDenied(
            "a different moderator must decide the appeal against your own decision",
            code="own_decision",
        )
    case = get_case(session, appeal.case_id, lock=True)
    repo, uploader = _repo_and_uploader(session, case)
    now = utcnow()
    appeal.status, appeal.outcome, appeal.explanation = AppealStatus.DECIDED, outcome, explanation
    appeal.decided_by, appeal.decided_at, appeal.assigned_to = user.id, now, None
    open_left = session.exec(
        select(Appeal).where(
            Appeal.case_id == case.id, Appeal.status == AppealStatus.OPEN, Appeal.id != appeal.id
        )
    ).first()
    if outcome == "overturned" and decision.reversed_at is None:
        decision.reversed_at, decision.reversed_by_appeal_id = now, appeal.id
        measure = measure_for(decision.action)
        for kind in measure.reverse_actions:
            queue_action(
                session,
                PlatformAction(
                    kind=kind,
                    repo_id=repo.repo_id,
                    repo_type=repo.repo_type,
                    uploader_platform_id=uploader.platform_id if uploader else None,
                    case_id=case.id,
                    message=f"Appeal {appeal.id} overturned the decision: {explanation}",
                    extra={"appeal_id": appeal.id, "decision_id": decision.id},
                ),
                dedupe_key=f"case:{case.id}:appeal:{appeal.id}:{kind}",
            )
        if decision.action in REUPLOAD_ACTIONS:
            remove_from_reupload_list(session=session, case_id=case.id, actor=actor)
        if measure.restricts:
            repo.status = RepoStatus.ACTIVE
            if uploader is not None:
                uploader.strikes = max(0, uploader.strikes - 1)
                _lift_case_suspensions(
                    session,
                    case=case,
                    appeal=appeal,
                    uploader=uploader,
                    actor=actor,
                    reinstated_by_measure="reinstate_uploader" in measure.reverse_actions,
                )
            case.status = CaseStatus.DECIDED
        else:  # a decision not to act was wrong: the case goes back to the queue for a new decision
            case.status, case.decided_at = CaseStatus.OPEN, None
            case.assigned_to = case.claimed_at = None
            case.priority += 200
    elif not open_left:
        case.status = CaseStatus.DECIDED
    if open_left and case.status == CaseStatus.DECIDED:
        case.status = CaseStatus.APPEALED
    msg = messages.appeal_outcome(
        appeal_id=appeal.id,
        repo_id=repo.repo_id,
        overturned=outcome == "overturned",
        explanation=explanation,
    )
    if appeal.appellant == "notifier" and appeal.notice_id:
        notice = session.get(Notice, appeal.notice_id)
        queue_notification(
            session,
            msg,
            recipient=f"notice:{notice.id}",
            email_enc=notice.email_enc,
            case_id=case.id,
        )
    else:
        queue_notification(
            session,
            msg,
            recipient=_uploader_recipient(repo, uploader),
            email_enc=uploader.email_enc if uploader else None,
            case_id=case.id,
        )
    record(
        session,
        actor=actor,
        action=f"appeal.{outcome}",
        subject=f"case:{case.id}",
        reason=explanation[:500],
        details={"appeal": appeal.id, "decision": decision.id},
    )
    session.flush()
    return appeal


def _lift_case_suspensions(
    session: Session,
    *,
    case: Case,
    appeal: Appeal,
    uploader: Uploader,
    actor: str,
    reinstated_by_measure: bool,
) -> None:
    """Undo the uploader suspensions this case caused (a suspend decision, or the strike that
    tipped the uploader into suspension): a `lift` sanction for each, the uploader's status back
    unless another case still suspends them, and the platform told to reinstate the account."""
    subject = f"uploader:{uploader.platform_id}"
    suspensions = session.exec(
        select(Sanction).where(
            Sanction.case_id == case.id, Sanction.subject == subject, Sanction.action == "suspend"
        )
    ).all()
    lifted = {
        s.case_id
        for s in session.exec(
            select(Sanction).where(Sanction.subject == subject, Sanction.action == "lift")
        )
    }
    suspensions = [s for s in suspensions if s.case_id not in lifted]
    if not suspensions:
        return
    for sanction in suspensions:
        session.add(
            Sanction(subject=subject, action="lift", reason=sanction.reason, case_id=case.id)
        )
    now = utcnow()
    still_suspended = [
        s
        for s in session.exec(
            select(Sanction).where(
                Sanction.subject == subject,
                Sanction.action == "suspend",
                Sanction.case_id != case.id,
            )
        )
        if s.case_id not in lifted and (s.until is None or s.until > now)
    ]
    if not still_suspended and uploader.status == UploaderStatus.SUSPENDED:
        uploader.status = UploaderStatus.WARNED if uploader.strikes else UploaderStatus.ACTIVE
        uploader.suspended_until = None
        if not reinstated_by_measure:  # a suspend decision's reverse actions already reinstate
            queue_action(
                session,
                PlatformAction(
                    kind="reinstate_uploader",
                    uploader_platform_id=uploader.platform_id,
                    case_id=case.id,
                    message=f"Appeal {appeal.id} overturned the decision that led to the suspension",
                    extra={"appeal_id": appeal.id},
                ),
                dedupe_key=f"case:{case.id}:appeal:{appeal.id}:reinstate_uploader",
            )
    record(
        session,
        actor=actor,
        action="uploader.suspension_lift",
        subject=subject,
        details={"case": case.id, "appeal": appeal.id, "still_suspended": bool(still_suspended)},
    )
    session.flush()


# --- notifications outbox ---------------------------------------------------------------------------


def queue_notification(
    session: Session,
    message: messages.Message,
    *,
    recipient: str,
    email_enc: bytes | None,
    case_id: int | None = None,
) -> Notification:
    """Put a message in the outbox and queue its delivery job (retried with back-off)."""
    notification = Notification(
        case_id=case_id,
        recipient=recipient[:64],
        kind=message.kind,
        subject=message.subject[:300],
        body=message.body,
        email_enc=email_enc,
    )
    session.add(notification)
    session.flush()
    enqueue(
        session,
        "cases.notify",
        {"notification_id": notification.id},
        dedupe_key=f"notification:{notification.id}",
    )
    return notification


# --- queue ----------------------------------------------------------------------------------------

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
) -> tuple[list[Case], str | None]:
    """One page of the queue and the cursor of the next page (keyset pagination on (priority, id)).

    Most urgent first; among equal priorities the newer case first (the reprioritise job lifts
    older cases as they wait, so nothing starves).
    """
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")
    limit = max(1, min(int(limit), 200))
    now = now or utcnow()
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
        query = query.where(col(Case.deadline_at).is_not(None), Case.deadline_at < now)
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
                query = query.where(Case.id > i if sort == "oldest" else Case.id < i)
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


def reprioritise(session: Session, *, now: datetime | None = None, batch: int = 1000) -> int:
    """Refresh the stored priority of open cases as they age and pass their deadline."""
    now = now or utcnow()
    categories = load_categories()
    changed, last_id = 0, 0
    while True:
        rows = list(
            session.exec(
                select(Case)
                .where(col(Case.status).in_(OPEN_STATUSES), Case.id > last_id)
                .order_by(col(Case.id))
                .limit(batch)
            )
        )
        if not rows:
            return changed
        for case in rows:
            base = priority_for(
                case.category,
                case.source,
                opened_at=case.opened_at,
                now=now,
                deadline_at=case.deadline_at,
                categories=categories,
            )
            if case.status == CaseStatus.ESCALATED:
                base += 100
            if base > case.priority:
                case.priority = base
                changed += 1
        last_id = rows[-1].id
        session.flush()


# --- evidence under legal hold ----------------------------------------------------------------------


def report_package(*, session: Session, case_id: int, actor: str) -> dict:
    """What a hotline / NCMEC CyberTipline report needs: evidence metadata, never images or list contents."""
    case = get_case(session, case_id)
    repo, uploader = _repo_and_uploader(session, case)
    evidence = list(
        session.exec(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case.id)
            .order_by(col(CaseEvidence.id))
        )
    )
    decisions = list(
        session.exec(select(Decision).where(Decision.case_id == case.id).order_by(col(Decision.id)))
    )
    kyu = []
    if uploader is not None:
        from hostguard.uploads.models import KyuSubmission

        for sub in session.exec(
            select(KyuSubmission)
            .where(KyuSubmission.uploader_pk == uploader.id)
            .order_by(col(KyuSubmission.id))
        ):
            kyu.append(
                {
                    "id": sub.id,
                    "status": sub.status,
                    "submitted_at": sub.submitted_at.isoformat() if sub.submitted_at else None,
                }
            )
    package = {
        "format": "hostguard-report-package/1",
        "generated_at": utcnow().isoformat(),
        "case": {
            "id": case.id,
            "category": case.category,
            "status": case.status,
            "opened_at": case.opened_at.isoformat(),
            "decided_at": case.decided_at.isoformat() if case.decided_at else None,
            "legal_hold_until": case.legal_hold_until.isoformat()
            if case.legal_hold_until
            else None,
        },
        "content": {
            "repo_id": repo.repo_id,
            "repo_type": repo.repo_type,
            "revision": repo.last_revision,
            "visibility": repo.visibility,
            "first_seen_at": repo.created_at.isoformat(),
        },
        "uploader": (
            {
                "platform_id": uploader.platform_id,
                "username": uploader.username,
                "status": uploader.status,
                "kyu": kyu,
            }
            if uploader
            else None
        ),
        "evidence": [
            {
                "source": e.source,
                "kind": e.kind,
                "ref": e.ref,
                "automated": e.automated,
                "at": e.at.isoformat(),
                "details": e.details,
            }
            for e in evidence
        ],
        "decisions": [
            {
                "id": d.id,
                "action": d.action,
                "ground": d.ground,
                "ground_reference": d.ground_reference,
                "decided_at": d.decided_at.isoformat(),
                "decided_by": d.actor,
            }
            for d in decisions
        ],
    }
    record(session, actor=actor, action="case.report_package", subject=f"case:{case.id}")
    return package
