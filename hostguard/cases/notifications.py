"""The notifications outbox: a stored message and its delivery job, queued in one transaction."""

from __future__ import annotations

from sqlmodel import Session

from hostguard.cases import messages
from hostguard.cases.models import Notification
from hostguard.jobs.service import enqueue
from hostguard.platform.models import ModelRepo, Uploader


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


def _uploader_recipient(repo: ModelRepo, uploader: Uploader | None) -> str:
    return f"uploader:{uploader.platform_id}" if uploader else f"repo:{repo.repo_id}"
