"""Deciding a case: the checks a decision passes and everything it does, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.appeals import appeal_url, suspension_appeal_url
from hostguard.cases.claims import CLAIMABLE, _may_work_on, _refuse, roles_in_words
from hostguard.cases.intake import _repo_and_uploader, get_case, recategorise
from hostguard.cases.measures import (
    DecisionAction,
    EscalationTarget,
    Ground,
    RestrictMode,
    measure_for,
    release_quarantine,
)
from hostguard.cases.misuse import _apply_notifier_misuse, _apply_uploader_misuse
from hostguard.cases.models import (
    Case,
    CaseEvidence,
    CaseStatus,
    Decision,
    Notice,
    NoticeItem,
    NoticeStatus,
    Notifier,
)
from hostguard.cases.notifications import _uploader_recipient, queue_notification
from hostguard.cases.orders import _check_territorial_scope, _update_orders_after_decision
from hostguard.cases.priority import add_months
from hostguard.cases.sampling import maybe_sample
from hostguard.cases.statements.issuing import _statement_of_reasons
from hostguard.cases.statements.notifiers import NOTIFIER, notifier_names
from hostguard.cases.statements.transparency_database import names_in
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, HostguardError, InvalidInput, PermissionDenied, TooLarge
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import ModelRepo, RepoStatus
from hostguard.policy import Category, Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


ACTION_WORDS = {
    DecisionAction.NO_ACTION: "no action",
    DecisionAction.RESTRICT: "restrict",
    DecisionAction.TAKE_DOWN: "take down",
    DecisionAction.SUSPEND_UPLOADER: "suspend the uploader",
    DecisionAction.ESCALATE: "escalate",
    DecisionAction.REPORT: "report to the authorities",
}


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
    template: str | None = None  # a policy decision template filling what is not given


def with_template(
    data: DecisionInput, *, policy: Policy, now: datetime | None = None
) -> DecisionInput:
    """The decision with its template's values where the moderator gave none (what they gave,
    edited or not, wins); the template's `duration_days` sets the end date."""
    if not data.template:
        return data
    t = policy.moderation.template(data.template)
    end_date = data.end_date
    if end_date is None and t.duration_days:
        end_date = (now or utcnow()) + timedelta(days=t.duration_days)
    return replace(
        data,
        action=data.action or t.action,
        ground=data.ground or t.ground,
        ground_reference=data.ground_reference or t.ground_reference,
        category=data.category or t.category,
        explanation=data.explanation or t.explanation,
        restrict_mode=data.restrict_mode or t.restrict_mode,
        end_date=end_date,
    )


def decision_problems(
    data: DecisionInput, *, policy: Policy, now: datetime | None = None
) -> list[HostguardError]:
    """Everything wrong with a decision at once, each with its code, in words a moderator reads
    (labels, not the API's values), so a form can show every error beside its field."""
    problems: list[HostguardError] = []
    if data.action not in tuple(DecisionAction):
        problems.append(
            InvalidInput(
                "choose an action: "
                + ", ".join(ACTION_WORDS[a] for a in DecisionAction)
                + (f" ('{data.action[:40]}' is none of them)" if data.action else ""),
                code="invalid_action",
            )
        )
    if not data.ground:
        problems.append(
            InvalidInput(
                "choose a ground: illegal content (then name the law) or a breach of the terms "
                "of service (then name the clause)",
                code="missing_ground",
            )
        )
    elif data.ground not in tuple(Ground):
        problems.append(
            InvalidInput(
                "the ground is either illegal content or a breach of the terms of service",
                code="invalid_ground",
            )
        )
    if not (data.ground_reference or "").strip():
        what = (
            "the terms-of-service clause"
            if data.ground == Ground.TERMS_OF_SERVICE
            else "the legal provision (or, for the terms of service, the clause)"
            if not data.ground
            else "the legal provision"
        )
        problems.append(
            InvalidInput(f"name {what} the decision relies on", code="missing_ground_reference")
        )
    elif len(data.ground_reference or "") > 500:
        problems.append(
            TooLarge(
                "the legal provision or clause may have at most 500 characters",
                details={"field": "ground_reference"},
            )
        )
    if not data.category:
        problems.append(InvalidInput("choose a category", code="missing_category"))
    else:
        try:
            policy.category(policy.case_category(data.category))
        except InvalidInput as exc:
            problems.append(exc)
    if not (data.explanation or "").strip():
        problems.append(
            InvalidInput(
                "explain the decision (it goes into the statement of reasons)",
                code="missing_explanation",
            )
        )
    elif len(data.explanation or "") > 2000:
        problems.append(
            TooLarge(
                "the explanation may have at most 2000 characters",
                details={"field": "explanation"},
            )
        )
    if data.action == DecisionAction.RESTRICT and (
        data.restrict_mode or RestrictMode.GATE
    ) not in tuple(RestrictMode):
        problems.append(
            InvalidInput(
                "a restriction either gates access or labels the model",
                code="invalid_restrict_mode",
            )
        )
    if data.action == DecisionAction.ESCALATE and (
        data.escalate_to or EscalationTarget.SENIOR
    ) not in tuple(EscalationTarget):
        problems.append(
            InvalidInput("escalate to a senior moderator or to legal", code="invalid_escalation")
        )
    try:
        _check_territorial_scope(data.territorial_scope)
    except InvalidInput as exc:
        problems.append(exc)
    if data.end_date is not None:
        if data.end_date.tzinfo is None:
            problems.append(
                InvalidInput(
                    "give the end date with a time zone (e.g. 2026-01-31T12:00:00Z)",
                    code="invalid_end_date",
                )
            )
        elif data.end_date <= (now or utcnow()):
            problems.append(
                InvalidInput(
                    "the end date of the measure must be in the future", code="invalid_end_date"
                )
            )
    return problems


def check_decision(
    data: DecisionInput, *, policy: Policy, now: datetime | None = None
) -> tuple[DecisionAction, Category]:
    """Every decision needs an action, a ground with its reference, a category and an explanation.

    Raises the first problem, carrying all of them in `details["problems"]` (code, message)."""
    problems = decision_problems(data, policy=policy, now=now)
    if problems:
        first = problems[0]
        first.details = {
            **first.details,
            "problems": [{"code": p.code, "message": p.message, **p.details} for p in problems],
        }
        raise first
    assert data.category is not None  # a problem above otherwise
    return DecisionAction(data.action), policy.category(policy.case_category(data.category))


@dataclass(frozen=True)
class DecisionWarning:
    code: str
    message: str


def explanation_warnings(
    *, session: Session, runtime: Runtime, case_id: int, explanation: str | None
) -> list[DecisionWarning]:
    """What the moderator should know before the explanation goes out: a notifier's name or e-mail
    in it reaches the notifier as written but the uploader as "[the notifier]" (the case record
    and the audit trail keep the full text)."""
    named = names_in(explanation or "", names=notifier_names(session, runtime, case_id=case_id))
    if not named:
        return []
    return [
        DecisionWarning(
            "notifier_named",
            "the explanation names the notifier ("
            + ", ".join(f"“{n}”" for n in named)
            + f"); the uploader's statement of reasons and the platform's message will say "
            f"{NOTIFIER} instead",
        )
    ]


def decide(
    *,
    session: Session,
    runtime: Runtime,
    case_id: int,
    user: User,
    actor: str,
    data: DecisionInput,
    policy: Policy,
) -> Decision:
    """Decide a claimed case: platform action, audit, statement of reasons, notifications, strikes,
    order feedback — all in the caller's transaction."""
    case = get_case(session, case_id, lock=True)
    data = with_template(data, policy=policy)
    if data.template and not data.category:  # a template without a category keeps the case's
        data = replace(data, category=case.category)
    action, category = check_decision(data, policy=policy)
    if case.status not in CLAIMABLE:
        raise Conflict(
            f"case {case_id} is {case.status}; only open or escalated cases can be decided",
            code="not_decidable",
        )
    if case.assigned_to is None:
        raise Conflict(f"claim case {case_id} before deciding it", code="not_claimed")
    if case.assigned_to != user.id:
        raise Conflict(f"case {case_id} is claimed by someone else", code="claimed_by_other")
    if not _may_work_on(case, user, policy):
        raise _refuse(case, user, policy)
    roles = policy.moderation.roles_for(category.id)
    # a decision moving the case into a restricted category; escalating it as one hands it to
    # those who may decide it (its queue is theirs)
    if roles is not None and user.role not in roles and action != DecisionAction.ESCALATE:
        raise PermissionDenied(
            f"{category.label.lower()} is a restricted category: only "
            + roles_in_words(roles)
            + " may decide it; escalate the case instead",
            code="restricted_category",
        )
    now = utcnow()
    repo, uploader = _repo_and_uploader(session, case)
    evidence = list(session.exec(select(CaseEvidence).where(CaseEvidence.case_id == case.id)))
    automated = case.automated or any(e.automated for e in evidence)
    assert case.id is not None  # read from the database
    # check_decision refused a decision without them
    assert data.ground is not None
    assert data.ground_reference is not None and data.explanation is not None
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
        end_date=data.end_date
        or (
            now + timedelta(days=policy.misuse.uploader_suspension_days)
            if action == DecisionAction.SUSPEND_UPLOADER
            else None
        ),  # Art. 23: a suspension lasts a reasonable period, never indefinitely
        automated=automated,
        decided_by=user.id,
        actor=actor,
        decided_at=now,
    )
    session.add(decision)
    session.flush()
    rerouted = recategorise(case, category=category.id, policy=policy)
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
            **({"template": data.template} if data.template else {}),
            **({"queue": rerouted} if rerouted else {}),
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
            filter(
                None, [case.legal_hold_until, now + timedelta(days=policy.cases.legal_hold_days)]
            )
        )

    statement = None
    if measure.restricts:
        # the strike first: a suspension it leads to is part of this decision's statement
        account_suspended_until = (
            _apply_uploader_misuse(
                session,
                case=case,
                decision=decision,
                uploader=uploader,
                actor=actor,
                policy=policy,
                now=now,
            )
            if uploader is not None
            else None
        )
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
            account_suspended_until=account_suspended_until,
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
    maybe_sample(session, decision=decision, policy=policy)
    session.flush()
    return decision


def _notify_notifiers(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    decision: Decision,
    repo: ModelRepo,
    policy: Policy,
    unfounded: bool,
    actor: str,
) -> None:
    assert case.id is not None  # read from the database
    appeal_until = add_months(decision.decided_at, policy.cases.appeal_months)
    query = (
        select(Notice)
        .join(NoticeItem, col(NoticeItem.notice_id) == Notice.id)
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
            assert notifier is not None  # notices.notifier_id is a foreign key to notifiers
            notifier.decided += 1
            if unfounded:
                notifier.unfounded += 1
                _apply_notifier_misuse(
                    session,
                    notifier=notifier,
                    case=case,
                    actor=actor,
                    policy=policy,
                    appeal_link=lambda sanction_id: suspension_appeal_url(
                        runtime, sanction_id=sanction_id
                    ),
                )
        assert notice.id is not None  # read from the database
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
