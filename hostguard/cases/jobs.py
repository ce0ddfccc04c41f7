"""Background jobs of the notice-and-action workflow: outbox delivery, queue re-prioritisation, quarantine release."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, cast, exists, func, literal
from sqlalchemy import case as sql_case
from sqlmodel import col, select

from hostguard.audit.models import AuditRecord
from hostguard.audit.service import record
from hostguard.cases.delivery import DeliveryFailed, send_email
from hostguard.cases.measures import DecisionAction, release_quarantine
from hostguard.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Decision,
    Notification,
    NotificationStatus,
)
from hostguard.cases.queue import reprioritise, route_unrouted
from hostguard.db import is_postgres
from hostguard.db.types import utcnow
from hostguard.jobs.periodic import periodic
from hostguard.jobs.service import enqueue, handler, without_transaction
from hostguard.platform.models import ModelRepo, RepoStatus
from hostguard.platform.webhooks import (
    DeliveryError,
    post_signed,
    send_event,
    webhooks_configured,
)

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

CHANNEL_JOB = "cases.notify.{}"  # one job per channel: a channel that went out is never sent again


def _wanted_channels(notification: Notification, settings) -> list[str]:
    wanted = []
    if settings.webhook_url:
        wanted.append("webhook")
    if notification.email_enc and settings.smtp_host:
        wanted.append("email")
    return wanted


@handler("cases.notify")
def deliver_notification(*, session, payload, job, runtime: Runtime) -> None:
    """Queue one delivery job per configured channel (signed webhook, e-mail), so that each is
    retried on its own and one failing never makes another send twice; no channel: logged."""
    notification = session.get(Notification, payload["notification_id"])
    if notification is None or notification.status in (
        NotificationStatus.SENT,
        NotificationStatus.LOGGED,
    ):
        return
    wanted = _wanted_channels(notification, runtime.settings)
    if not wanted:
        notification.status, notification.sent_at = NotificationStatus.LOGGED, utcnow()
        return
    for channel in wanted:
        if channel not in (notification.channels or []):
            enqueue(
                session,
                CHANNEL_JOB.format(channel),
                {"notification_id": notification.id, "wanted": wanted},
                dedupe_key=f"notification:{notification.id}:{channel}",
            )


def _deliver_webhook(notification: Notification, runtime: Runtime) -> None:
    settings = runtime.settings
    if not settings.webhook_url:  # the setting was removed after the notification was queued
        raise DeliveryFailed("no webhook URL is configured (HOSTGUARD_WEBHOOK_URL)")
    if not settings.webhook_secret:
        raise DeliveryFailed("no webhook secret is configured (HOSTGUARD_WEBHOOK_SECRET)")
    try:  # one signing scheme for every outbound webhook; the delivery id is stable across retries
        post_signed(
            url=settings.webhook_url,
            secret=settings.webhook_secret,
            event="notification",
            delivery_id=f"hostguard-notification-{notification.id}",
            payload={
                "notification": {
                    "id": notification.id,
                    "kind": notification.kind,
                    "recipient": notification.recipient,
                    "case_id": notification.case_id,
                    "subject": notification.subject,
                    "body": notification.body,
                }
            },
        )
    except DeliveryError as exc:
        raise DeliveryFailed(str(exc)) from exc


def _deliver_email(notification: Notification, runtime: Runtime) -> None:
    # the e-mail channel is queued only for a notification with an address, never removed
    assert notification.email_enc is not None
    to = runtime.keys.decrypt(notification.email_enc).decode()
    domain = (runtime.settings.smtp_from or "").rpartition("@")[2].strip(
        " >"
    ) or "hostguard.invalid"
    send_email(
        runtime.settings,
        to=to,
        subject=notification.subject,
        body=notification.body,
        message_id=f"<hostguard-notification-{notification.id}@{domain}>",
    )


def _deliver_channel(channel: str, send, *, session, payload, job) -> None:
    """Send one channel of a notification, then record it as sent.

    The send is made with no transaction open (`without_transaction`, as webhook deliveries
    are): a slow receiver or mail server holds no database lock meanwhile, so on SQLite web
    requests keep writing. The outcome is recorded in a fresh transaction, once: a channel
    another run recorded meanwhile is not recorded again.
    """
    notification_id = payload["notification_id"]
    notification = session.get(Notification, notification_id)
    if notification is None or channel in (notification.channels or []):
        return
    session.expunge(notification)  # what send() reads stays loaded while no transaction is open
    with without_transaction(session):
        send(notification)
    notification = session.get(
        Notification, notification_id, with_for_update=True, populate_existing=True
    )
    if notification is None or channel in (notification.channels or []):
        return
    notification.attempts = max(notification.attempts, job.attempts)
    channels = [*(notification.channels or []), channel]
    notification.channels = channels
    notification.last_error = None
    if set(payload.get("wanted") or [channel]) <= set(channels):
        notification.status, notification.sent_at = NotificationStatus.SENT, utcnow()


@handler(CHANNEL_JOB.format("webhook"))
def deliver_webhook(*, session, payload, job, runtime: Runtime) -> None:
    _deliver_channel(
        "webhook", lambda n: _deliver_webhook(n, runtime), session=session, payload=payload, job=job
    )


@handler(CHANNEL_JOB.format("email"))
def deliver_email(*, session, payload, job, runtime: Runtime) -> None:
    _deliver_channel(
        "email", lambda n: _deliver_email(n, runtime), session=session, payload=payload, job=job
    )


@handler("cases.reprioritise")
def reprioritise_queue(*, session, payload, job, runtime: Runtime) -> None:
    reprioritise(session, policy=runtime.policy)


@periodic("cases.reprioritise", every=timedelta(hours=1))
def reprioritise_periodically(*, session, runtime: Runtime) -> None:
    """Older and overdue cases climb the queue so nothing starves; and every open case nobody
    holds is in the queue the policy's rules give it now (readings of the queue move a
    thousand at a time)."""
    reprioritise(session, policy=runtime.policy)
    route_unrouted(session, policy=runtime.policy, limit=None)


ALERT_AHEAD = timedelta(hours=2)
ALERT_BATCH = 500  # alerts queued per run at most; the rest go out on the next runs


def _deadline_marker(session):
    """SQL for the audit reason of a case's current deadline alert: `deadline <isoformat>`.

    It renders `Case.deadline_at` exactly as Python's `datetime.isoformat()` does for a UTC
    time (no fraction when the microseconds are zero), so the query can leave out the cases
    already alerted for their deadline, whichever database and whenever they were alerted.
    """
    column = Case.deadline_at
    if is_postgres(session.get_bind()):
        utc = func.timezone("UTC", column)
        seconds = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS', type_=String)
        micro = func.to_char(utc, "US", type_=String)
    else:  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, always six digits)
        stored = cast(column, String)
        seconds = func.replace(func.substr(stored, 1, 19, type_=String), " ", "T", type_=String)
        micro = func.substr(stored, 21, 6, type_=String)
    fraction = sql_case((micro == "000000", literal("")), else_=literal(".") + micro)
    return (literal("deadline ") + seconds + fraction + literal("+00:00")).label("marker")


@periodic("cases.deadline_alerts", every=timedelta(minutes=15))
def deadline_alerts(*, session, runtime: Runtime) -> int:
    """Tell the platform (signed webhook) about open cases due within two hours or overdue.

    Each case is alerted once per deadline: the audit record is the memory, so a moved
    deadline alerts again. Cases already alerted are left out by the query itself, so a backlog
    of alerted, still-open cases never hides a newly due one; with no webhook configured
    nothing is recorded, and the cases are alerted once one is.
    """
    if not webhooks_configured(session, runtime=runtime):
        return 0
    now = utcnow()
    marker = _deadline_marker(session)
    alerted = (
        select(AuditRecord.id)
        .where(
            AuditRecord.action == "case.deadline_alert",
            AuditRecord.subject == literal("case:") + cast(Case.id, String),
            AuditRecord.reason == marker,
        )
        .correlate(Case)
    )
    due = session.exec(
        select(Case, marker)
        .where(
            col(Case.status).in_(OPEN_STATUSES),
            col(Case.deadline_at).is_not(None),
            col(Case.deadline_at) <= now + ALERT_AHEAD,
            ~exists(alerted),
        )
        .order_by(col(Case.deadline_at), col(Case.id))
        .limit(ALERT_BATCH)
    ).all()
    sent = 0
    for case_row, reason in due:
        overdue = case_row.deadline_at <= now
        delivery = send_event(
            session,
            runtime=runtime,
            event="case.deadline",
            payload={
                "case_id": case_row.id,
                "deadline_at": case_row.deadline_at.isoformat(),
                "overdue": overdue,
                "category": case_row.category,
                "source": case_row.source,
                "status": case_row.status,
            },
        )
        assert delivery is not None  # a webhook URL is configured (checked above)
        record(
            session,
            actor="system",
            action="case.deadline_alert",
            subject=f"case:{case_row.id}",
            reason=reason,
            details={"overdue": overdue, "delivery_id": delivery.delivery_id},
        )
        sent += 1
    return sent


@periodic("cases.release_quarantines", every=timedelta(minutes=1))
def release_quarantines(*, session, runtime: Runtime) -> int:
    """Lift the quarantine of repos whose latest case was decided with no action (a backstop).

    A repo the Hub webhook quarantined stays hidden until its case is decided; a decision not
    to act gives it back (`restore`: the settings it had before) in the decision's own
    transaction, and this catches what that missed. The repo's newest case must be the decided
    one, so a quarantine for a later revision (a new open case) stays; an appealed case is
    open, and a failed revision's evidence may have joined it, so it is left alone too.
    """
    newest = (
        select(Case.repo_pk, func.max(Case.id).label("case_id"))
        .group_by(col(Case.repo_pk))
        .subquery()
    )
    rows = session.exec(
        select(Case, ModelRepo)
        .join(newest, newest.c.case_id == Case.id)
        .join(ModelRepo, col(ModelRepo.id) == Case.repo_pk)
        .where(ModelRepo.status == RepoStatus.QUARANTINED, Case.status == CaseStatus.DECIDED)
        .order_by(col(Case.id))
        .limit(500)
    ).all()
    released = 0
    for case, repo in rows:
        decision = session.exec(
            select(Decision)
            .where(Decision.case_id == case.id)
            .order_by(col(Decision.decided_at).desc(), col(Decision.id).desc())
        ).first()
        if (
            decision is None
            or decision.action != DecisionAction.NO_ACTION
            or decision.reversed_at is not None
        ):
            continue
        released += release_quarantine(
            session, case=case, decision=decision, repo=repo, actor="system"
        )
    return released
