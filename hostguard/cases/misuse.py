"""Art. 23 misuse: the rules as plain arithmetic, and the warnings and suspensions they lead to."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.measures import DecisionAction, Ground
from hostguard.cases.models import Case, Decision, Notice, Notifier, NotifierStatus, Sanction
from hostguard.cases.notifications import queue_notification
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


def _apply_notifier_misuse(
    session: Session, *, notifier: Notifier, case: Case, actor: str, policy: Policy
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
        queue_notification(
            session,
            messages.notifier_warning(decided=notifier.decided, unfounded=notifier.unfounded),
            recipient=f"notifier:{notifier.id}",
            email_enc=_latest_notifier_email(session, notifier),
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
        queue_notification(
            session,
            messages.notifier_suspension(
                decided=notifier.decided, unfounded=notifier.unfounded, until=until
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
            details={"decided": notifier.decided, "unfounded": notifier.unfounded},
        )


def _latest_notifier_email(session: Session, notifier: Notifier) -> bytes | None:
    """The address the notifier gave with their latest notice (encrypted, as stored)."""
    latest = session.exec(
        select(Notice).where(Notice.notifier_id == notifier.id).order_by(col(Notice.id).desc())
    ).first()
    return latest.email_enc if latest else None
