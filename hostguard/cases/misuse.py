"""Art. 23 misuse: the rules as plain arithmetic, and the warnings and suspensions they lead to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.measures import DecisionAction, Ground
from hostguard.cases.models import Case, Decision, Notice, Notifier, NotifierStatus, Sanction
from hostguard.cases.notifications import queue_notification
from hostguard.cases.priority import add_months
from hostguard.db.types import utcnow
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import Uploader, UploaderStatus
from hostguard.policy import Policy
from hostguard.policy.model import MisusePolicy


class Standing(StrEnum):
    OK = "ok"
    WARN = "warn"
    SUSPEND = "suspend"


def uploader_outcome(strikes: int, *, already_warned: bool, policy: MisusePolicy) -> Standing:
    """After a strike: warn first, suspend once the threshold is reached and a warning was given."""
    if strikes >= policy.uploader_suspend_at and already_warned:
        return Standing.SUSPEND
    if strikes >= policy.uploader_warn_at and not already_warned:
        return Standing.WARN
    return Standing.OK


def unfounded_share(decided: int, unfounded: int) -> float:
    return unfounded / decided if decided else 0.0


def notifier_outcome(
    decided: int, unfounded: int, *, already_warned: bool, policy: MisusePolicy
) -> Standing:
    """A notifier whose decided notices are mostly unfounded is warned, then suspended."""
    if (
        decided < policy.notifier_min_notices
        or unfounded_share(decided, unfounded) <= policy.notifier_unfounded_share
    ):
        return Standing.OK
    return Standing.SUSPEND if already_warned else Standing.WARN


def notifier_penalty(decided: int, unfounded: int, *, policy: MisusePolicy, penalty: int) -> int:
    """Priority points taken off a notifier's new notices: nothing until their record says otherwise."""
    if decided < policy.notifier_min_notices:
        return 0
    return int(round(penalty * unfounded_share(decided, unfounded)))


def is_strike(decision: Decision) -> bool:
    """Art. 23 counts decisions on manifestly illegal content only; a restriction under the terms
    of service is no strike against the uploader."""
    return decision.ground == Ground.ILLEGAL_CONTENT


def _apply_uploader_misuse(
    session: Session,
    *,
    case: Case,
    decision: Decision,
    uploader: Uploader,
    actor: str,
    policy: Policy,
    now: datetime,
) -> datetime | None:
    """Count the strike and apply what follows from it. Returns the end of the suspension this
    decision tipped the uploader into (an automatic Art. 23 sanction), which the decision's
    statement of reasons must carry (decision_account) so it is told, exported and appealable."""
    assert case.id is not None  # read from the database
    strike = is_strike(decision)
    if strike:
        uploader.strikes += 1
    if decision.action == DecisionAction.SUSPEND_UPLOADER:
        until = decision.end_date or now + timedelta(days=policy.misuse.uploader_suspension_days)
        uploader.status, uploader.suspended_until = UploaderStatus.SUSPENDED, until
        session.add(
            Sanction(
                subject=f"uploader:{uploader.platform_id}",
                action="suspend",
                reason=Ground.ILLEGAL_CONTENT if strike else Ground.TERMS_OF_SERVICE,
                case_id=case.id,
                until=until,
            )
        )
        return None
    if not strike:
        return None
    suspended_until: datetime | None = None
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
        suspended_until = until
        session.add(
            Sanction(
                subject=f"uploader:{uploader.platform_id}",
                action="suspend",
                reason="illegal_content",
                case_id=case.id,
                until=until,
            )
        )
        queue_notification(
            session,
            messages.uploader_suspension(strikes=uploader.strikes, until=until, case_id=case.id),
            recipient=f"uploader:{uploader.platform_id}",
            email_enc=uploader.email_enc,
            case_id=case.id,
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
    return suspended_until


NOTIFIER_SUSPENSION_GROUND = (
    "Regulation (EU) 2022/2065, Article 23(2) (frequently submitting manifestly unfounded notices)"
)


def notifier_suspension_statement(
    *, notifier: Notifier, until: datetime, since: datetime, appeal_until: datetime
) -> str:
    """The statement of reasons (Art. 17(3), by analogy for a notifier) of an automatic
    suspension of a notifier's notices: the facts, the ground, the period, that it was decided
    automatically, and the redress open to them."""
    return (
        "Statement of reasons\n\n"
        f"Decision: the notices you send will not be processed from {since:%d %B %Y} until "
        f"{until:%d %B %Y} (that day included).\n"
        f"Facts: {notifier.unfounded} of your last {notifier.decided} decided notices were "
        "manifestly unfounded, after we had warned you that this would lead to a suspension.\n"
        f"Ground: {NOTIFIER_SUSPENSION_GROUND}.\n"
        "Automated means: the suspension followed automatically from our records of your "
        "notices' outcomes; each of those outcomes was decided by a person.\n"
        f"Redress: you can contest this decision with our internal complaint-handling system "
        f"until {appeal_until:%d %B %Y} (Article 20), through the link in this message; a senior "
        "moderator reviews it, and if your complaint succeeds the suspension is lifted. You can "
        "also turn to a certified out-of-court dispute settlement body (Article 21) or to a "
        "court.\n"
    )


def notifier_suspension_tdb(*, sanction: Sanction, notifier: Notifier, since: datetime) -> dict:
    """The suspension in the Transparency Database's terms (no personal data). Kept with the
    sanction, not submitted: the database takes Art. 17(1) statements on restricted content,
    and a notifier's suspension restricts no content of theirs."""
    assert sanction.until is not None  # a suspension has an end date
    return {
        "puid": f"hostguard-notifier-suspension-{sanction.id}",
        "decision_account": "DECISION_ACCOUNT_SUSPENDED",
        "account_type": "ACCOUNT_TYPE_PRIVATE",
        "end_date_account_restriction": sanction.until.date().isoformat(),
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": NOTIFIER_SUSPENSION_GROUND,
        "incompatible_content_explanation": (
            f"{notifier.unfounded} of {notifier.decided} decided notices manifestly unfounded, "
            "after a warning"
        ),
        "category": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
        "content_type": ["CONTENT_TYPE_OTHER"],
        "content_type_other": "notices (Article 16)",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "source_type": "SOURCE_VOLUNTARY",
        "application_date": since.date().isoformat(),
        "decision_facts": "Notices not processed for a period after repeated manifestly "
        "unfounded notices (Article 23(2) DSA).",
    }


def _apply_notifier_misuse(
    session: Session,
    *,
    notifier: Notifier,
    case: Case,
    actor: str,
    policy: Policy,
    appeal_link: Callable[[int], str] | None = None,
) -> Sanction | None:
    """Count the notifier's record and warn or suspend them. A suspension is a decision: its
    statement of reasons and Transparency Database form are kept on the sanction, the notifier
    receives the statement with an appeal link (`appeal_link(sanction_id)`), and it ends.
    Returns the suspension made, if any."""
    suspension: Sanction | None = None
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
        queue_notification(
            session,
            messages.notifier_warning(decided=notifier.decided, unfounded=notifier.unfounded),
            recipient=f"notifier:{notifier.id}",
            email_enc=_latest_notifier_email(session, notifier),
        )
    elif outcome == Standing.SUSPEND and notifier.status != NotifierStatus.SUSPENDED:
        now = utcnow()
        until = now + timedelta(days=policy.misuse.notifier_suspension_days)
        notifier.status, notifier.suspended_until = NotifierStatus.SUSPENDED, until
        suspension = Sanction(
            subject=f"notifier:{notifier.id}",
            action="suspend",
            reason="unfounded_notices",
            case_id=case.id,
            until=until,
            at=now,
            statement=notifier_suspension_statement(
                notifier=notifier,
                until=until,
                since=now,
                appeal_until=add_months(now, policy.cases.appeal_months),
            ),
        )
        session.add(suspension)
        session.flush()
        assert suspension.id is not None  # flushed above
        suspension.tdb = notifier_suspension_tdb(sanction=suspension, notifier=notifier, since=now)
        queue_notification(
            session,
            messages.notifier_suspension(
                decided=notifier.decided,
                unfounded=notifier.unfounded,
                until=until,
                statement=suspension.statement or "",
                appeal_url=appeal_link(suspension.id) if appeal_link else None,
            ),
            recipient=f"notifier:{notifier.id}",
            email_enc=_latest_notifier_email(session, notifier),
        )
    if outcome != Standing.OK:
        record(
            session,
            actor=actor,
            action=f"notifier.{outcome}",
            subject=f"notifier:{notifier.id}",
            details={
                "decided": notifier.decided,
                "unfounded": notifier.unfounded,
                "sanction": suspension.id if suspension else None,
            },
        )
    return suspension


def _latest_notifier_email(session: Session, notifier: Notifier) -> bytes | None:
    """The address the notifier gave with their latest notice (encrypted, as stored)."""
    latest = session.exec(
        select(Notice).where(Notice.notifier_id == notifier.id).order_by(col(Notice.id).desc())
    ).first()
    return latest.email_enc if latest else None
