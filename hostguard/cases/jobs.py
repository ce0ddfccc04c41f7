"""Background jobs of the notice-and-action workflow: outbox delivery and queue re-prioritisation."""

from __future__ import annotations

from hostguard.cases.delivery import post_signed, send_email
from hostguard.cases.models import Notification, NotificationStatus
from hostguard.cases.service import reprioritise
from hostguard.db.types import utcnow
from hostguard.jobs.service import handler


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
        post_signed(settings.webhook_url, settings.webhook_secret, {
            "event": "notification",
            "notification": {"id": notification.id, "kind": notification.kind,
                             "recipient": notification.recipient, "case_id": notification.case_id,
                             "subject": notification.subject, "body": notification.body},
        }, idempotency_key=f"hostguard-notification-{notification.id}")
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
