"""Appeals (DSA Art. 20): the signed appeal links, filing an appeal, a senior moderator's ruling."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from sqlmodel import Session, col, select

from hostguard.accounts.models import Role, User
from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.intake import _get, _repo_and_uploader, get_case, latest_decision
from hostguard.cases.measures import measure_for
from hostguard.cases.misuse import _latest_notifier_email, is_strike
from hostguard.cases.models import (
    Appeal,
    AppealStatus,
    Case,
    CaseStatus,
    Decision,
    Notice,
    NoticeItem,
    Notifier,
    NotifierStatus,
    Sanction,
    SanctionAppeal,
)
from hostguard.cases.notifications import _uploader_recipient, queue_notification
from hostguard.cases.priority import add_months
from hostguard.cases.statements.notifiers import without_notifier
from hostguard.db.types import utcnow
from hostguard.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
)
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import RepoStatus, Uploader, UploaderStatus
from hostguard.policy import Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


def appeal_token(runtime: Runtime, *, case_id: int, appellant: str, ref: str) -> str:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(runtime.keys.secret_key, salt="hostguard.appeal").dumps(
        {"c": case_id, "a": appellant, "r": ref}
    )


class AppealClaims(TypedDict):
    """What an appeal link carries: the case (`c`), the appellant (`a`: uploader or notifier)
    and who they are (`r`: the uploader's platform id or the notice id)."""

    c: int
    a: str
    r: str


def read_appeal_token(runtime: Runtime, token: str, *, max_age_days: int = 200) -> AppealClaims:
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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


def appeal_url(runtime: Runtime, *, case_id: int, appellant: str, ref: str) -> str:
    token = appeal_token(runtime, case_id=case_id, appellant=appellant, ref=ref)
    return f"{runtime.settings.base_url.rstrip('/')}/notices/appeal?token={token}"


def file_appeal(
    *,
    session: Session,
    case_id: int,
    appellant: str,
    reason: str,
    actor: str,
    notice_id: int | None = None,
    policy: Policy,
    now: datetime | None = None,
) -> Appeal:
    """Art. 20: the uploader or a notifier contests the latest decision within the appeal window."""
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
    assert decision.id is not None  # read from the database
    if now > add_months(decision.decided_at, policy.cases.appeal_months):
        raise Conflict(
            f"the appeal window closed on {add_months(decision.decided_at, policy.cases.appeal_months):%d %B %Y}",
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
    runtime: Runtime,
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
    assert decision is not None  # appeals.decision_id is a foreign key to decisions
    if decision.decided_by == user.id:
        raise PermissionDenied(
            "a different moderator must decide the appeal against your own decision",
            code="own_decision",
        )
    case = get_case(session, appeal.case_id, lock=True)
    assert case.id is not None  # read from the database
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
        to_platform = without_notifier(session, runtime, case_id=case.id, text=explanation)
        for kind in measure.reverse_actions:
            queue_action(
                session,
                PlatformAction(
                    kind=kind,
                    repo_id=repo.repo_id,
                    repo_type=repo.repo_type,
                    uploader_platform_id=uploader.platform_id if uploader else None,
                    case_id=case.id,
                    message=f"Appeal {appeal.id} overturned the decision: {to_platform}",
                    extra={"appeal_id": appeal.id, "decision_id": decision.id},
                ),
                dedupe_key=f"case:{case.id}:appeal:{appeal.id}:{kind}",
            )
        if measure.restricts:
            repo.status = RepoStatus.ACTIVE
            if uploader is not None:
                if is_strike(decision):
                    uploader.strikes = max(0, uploader.strikes - 1)
                    if not uploader.strikes and uploader.status == UploaderStatus.WARNED:
                        uploader.status = UploaderStatus.ACTIVE  # the warning went with the strike
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
        assert notice is not None  # appeals.notice_id is a foreign key to notices
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


# --- appeals against a notifier's automatic suspension (Art. 20 with Art. 23(2)) -------------


def suspension_appeal_url(runtime: Runtime, *, sanction_id: int) -> str:
    """The signed link a suspended notifier contests their suspension with."""
    from itsdangerous import URLSafeTimedSerializer

    token = URLSafeTimedSerializer(
        runtime.keys.secret_key, salt="hostguard.suspension-appeal"
    ).dumps({"s": sanction_id})
    return f"{runtime.settings.base_url.rstrip('/')}/notices/suspension-appeal?token={token}"


def read_suspension_appeal_token(runtime: Runtime, token: str, *, max_age_days: int = 200) -> int:
    """The sanction a suspension-appeal link is about."""
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(runtime.keys.secret_key, salt="hostguard.suspension-appeal")
    try:
        return int(serializer.loads(token, max_age=max_age_days * 86400)["s"])
    except SignatureExpired:
        raise AuthenticationRequired("this appeal link has expired", code="token_expired") from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise AuthenticationRequired(
            "this appeal link is not valid", code="token_invalid"
        ) from None


def get_suspension(session: Session, sanction_id: int) -> Sanction:
    sanction = session.get(Sanction, sanction_id)
    if (
        sanction is None
        or sanction.action != "suspend"
        or not sanction.subject.startswith("notifier:")
    ):
        raise NotFound(f"no notifier suspension {sanction_id}")
    return sanction


def file_suspension_appeal(
    *,
    session: Session,
    sanction_id: int,
    reason: str,
    actor: str,
    policy: Policy,
    now: datetime | None = None,
) -> SanctionAppeal:
    """A suspended notifier contests their automatic suspension, once, within the appeal window."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the suspension is wrong", code="missing_reason")
    if len(reason) > 5000:
        raise TooLarge("the reason may have at most 5000 characters")
    sanction = get_suspension(session, sanction_id)
    closes = add_months(sanction.at, policy.cases.appeal_months)
    if now > closes:
        raise Conflict(
            f"the appeal window closed on {closes:%d %B %Y}", code="appeal_window_closed"
        )
    if session.exec(
        select(SanctionAppeal).where(SanctionAppeal.sanction_id == sanction_id)
    ).first():
        raise Conflict("this suspension has already been appealed", code="already_appealed")
    appeal = SanctionAppeal(sanction_id=sanction_id, reason=reason, filed_at=now)
    session.add(appeal)
    session.flush()
    record(
        session,
        actor=actor,
        action="sanction.appeal",
        subject=sanction.subject,
        details={"sanction": sanction_id, "appeal": appeal.id},
    )
    return appeal


def decide_suspension_appeal(
    *,
    session: Session,
    appeal_id: int,
    user: User,
    actor: str,
    lift: bool,
    explanation: str,
) -> SanctionAppeal:
    """A senior moderator (or an admin) rules on a notifier's appeal against their suspension:
    lifting it lets their notices through again at once; either way the notifier is told."""
    if user.role not in (Role.SENIOR_MODERATOR, Role.ADMIN):
        raise PermissionDenied(
            "only a senior moderator or an admin decides appeals", code="not_senior"
        )
    explanation = (explanation or "").strip()
    if not explanation:
        raise InvalidInput("explain the outcome to the notifier", code="missing_explanation")
    if len(explanation) > 2000:
        raise TooLarge("the explanation may have at most 2000 characters")
    appeal = session.get(SanctionAppeal, appeal_id)
    if appeal is None:
        raise NotFound(f"no suspension appeal {appeal_id}")
    if appeal.status != AppealStatus.OPEN:
        raise Conflict(f"suspension appeal {appeal_id} is already decided", code="already_decided")
    sanction = get_suspension(session, appeal.sanction_id)
    notifier = session.get(Notifier, int(sanction.subject.split(":", 1)[1]))
    assert notifier is not None  # a suspension names a stored notifier
    now = utcnow()
    appeal.status, appeal.outcome = AppealStatus.DECIDED, "overturned" if lift else "upheld"
    appeal.explanation, appeal.decided_by, appeal.decided_at = explanation, user.id, now
    if lift:
        sanction.lifted_at = now
        if notifier.status == NotifierStatus.SUSPENDED:
            notifier.status, notifier.suspended_until = NotifierStatus.WARNED, None
        session.add(
            Sanction(
                subject=sanction.subject,
                action="lift",
                reason=sanction.reason,
                case_id=sanction.case_id,
                at=now,
            )
        )
    queue_notification(
        session,
        messages.suspension_appeal_outcome(lifted=lift, explanation=explanation),
        recipient=sanction.subject,
        email_enc=_latest_notifier_email(session, notifier),
    )
    record(
        session,
        actor=actor,
        action="sanction.appeal_decided",
        subject=sanction.subject,
        reason=explanation[:500],
        details={"appeal": appeal_id, "sanction": sanction.id, "lifted": lift},
    )
    session.flush()
    return appeal


def open_suspension_appeals(session: Session) -> list[tuple[SanctionAppeal, Sanction]]:
    rows = session.exec(
        select(SanctionAppeal, Sanction)
        .join(Sanction, col(Sanction.id) == SanctionAppeal.sanction_id)
        .where(SanctionAppeal.status == AppealStatus.OPEN)
        .order_by(col(SanctionAppeal.filed_at))
    )
    return [(a, s) for a, s in rows]
