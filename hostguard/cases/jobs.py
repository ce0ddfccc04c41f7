"""Background jobs of the notice-and-action workflow: outbox delivery and queue re-prioritisation."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.audit.service import record
from hostguard.cases.delivery import DeliveryFailed, send_email
from hostguard.cases.models import OPEN_STATUSES, Case, Notification, NotificationStatus
from hostguard.cases.service import reprioritise
from hostguard.db.types import utcnow
from hostguard.integrations.webhooks import DeliveryError, post_signed, send_event
from hostguard.jobs.service import handler
from hostguard.ops.periodic import periodic


@handler("cases.notify")
def deliver_notification(*, session, payload, job, runtime) -> None:
    """Send one outbox message by signed webhook and/or e-mail; raising makes the job retry."""
    notification = session.get(Notification, payload["notification_id"])
    if notification is None or notification.status in (NotificationStatus.SENT, NotificationStatus.LOGGED):
        return
    settings = runtime.settings
    notification.attempts = job.attempts
    channels = list(notification.channels or [])
    if settings.webhook_url and "webhook" not in channels:
        if not settings.webhook_secret:
            raise DeliveryFailed("no webhook secret is configured (HOSTGUARD_WEBHOOK_SECRET)")
        try:  # one signing scheme for every outbound webhook; the delivery id is stable across retries
            post_signed(url=settings.webhook_url, secret=settings.webhook_secret, event="notification",
                        delivery_id=f"hostguard-notification-{notification.id}", payload={
                            "notification": {"id": notification.id, "kind": notification.kind,
                                             "recipient": notification.recipient,
                                             "case_id": notification.case_id,
                                             "subject": notification.subject, "body": notification.body}})
        except DeliveryError as exc:
            raise DeliveryFailed(str(exc)) from exc
        channels.append("webhook")
    if notification.email_enc and settings.smtp_host and "email" not in channels:
        to = runtime.keys.decrypt(notification.email_enc).decode()
        send_email(settings, to=to, subject=notification.subject, body=notification.body)
        channels.append("email")
    notification.channels = channels
    notification.status = NotificationStatus.SENT if channels else NotificationStatus.LOGGED
    notification.sent_at = utcnow()
    notification.last_error = None


@handler("cases.reprioritise")
def reprioritise_queue(*, session, payload, job, runtime) -> None:
    reprioritise(session)


@periodic("cases.reprioritise", every=timedelta(hours=1))
def reprioritise_periodically(*, session, runtime) -> None:
    """Older and overdue cases climb the queue so nothing starves."""
    reprioritise(session)


ALERT_AHEAD = timedelta(hours=2)


@periodic("cases.deadline_alerts", every=timedelta(minutes=15))
def deadline_alerts(*, session, runtime) -> int:
    """Tell the platform (signed webhook) about open cases due within two hours or overdue.

    Each case is alerted once per deadline: the audit record is the memory, so a moved
    deadline alerts again.
    """
    now = utcnow()
    due = session.exec(
        select(Case).where(Case.status.in_(OPEN_STATUSES), Case.deadline_at.is_not(None),
                           Case.deadline_at <= now + ALERT_AHEAD)
        .order_by(Case.deadline_at).limit(500)
    ).all()
    sent = 0
    for case in due:
        marker = f"deadline {case.deadline_at.isoformat()}"
        already = session.exec(select(AuditRecord.id).where(
            AuditRecord.subject == f"case:{case.id}", AuditRecord.action == "case.deadline_alert",
            AuditRecord.reason == marker)).first()
        if already:
            continue
        overdue = case.deadline_at <= now
        record(session, actor="system", action="case.deadline_alert", subject=f"case:{case.id}",
               reason=marker, details={"overdue": overdue})
        send_event(session, runtime=runtime, event="case.deadline", payload={
            "case_id": case.id, "deadline_at": case.deadline_at.isoformat(), "overdue": overdue,
            "category": case.category, "source": case.source, "status": case.status})
        sent += 1
    return sent
