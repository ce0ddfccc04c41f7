"""Background jobs of the notice-and-action workflow: outbox delivery, queue re-prioritisation, quarantine release."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.audit.service import record
from hostguard.cases.decisions import DecisionAction, release_quarantine
from hostguard.cases.delivery import DeliveryFailed, send_email
from hostguard.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Decision,
    Notification,
    NotificationStatus,
)
from hostguard.cases.service import reprioritise
from hostguard.db.types import utcnow
from hostguard.integrations.webhooks import DeliveryError, post_signed, send_event
from hostguard.jobs.service import enqueue, handler
from hostguard.ops.periodic import periodic
from hostguard.platform.models import ModelRepo, RepoStatus

CHANNEL_JOB = "cases.notify.{}"  # one job per channel: a channel that went out is never sent again


def _wanted_channels(notification: Notification, settings) -> list[str]:
    wanted = []
    if settings.webhook_url:
        wanted.append("webhook")
    if notification.email_enc and settings.smtp_host:
        wanted.append("email")
    return wanted


@handler("cases.notify")
def deliver_notification(*, session, payload, job, runtime) -> None:
    """Queue one delivery job per configured channel (signed webhook, e-mail), so that each is
    retried on its own and one failing never makes another send twice; no channel: logged."""
    notification = session.get(Notification, payload["notification_id"])
    if notification is None or notification.status in (NotificationStatus.SENT, NotificationStatus.LOGGED):
        return
    wanted = _wanted_channels(notification, runtime.settings)
    if not wanted:
        notification.status, notification.sent_at = NotificationStatus.LOGGED, utcnow()
        return
    for channel in wanted:
        if channel not in (notification.channels or []):
            enqueue(session, CHANNEL_JOB.format(channel), {"notification_id": notification.id, "wanted": wanted},
                    dedupe_key=f"notification:{notification.id}:{channel}")


def _deliver_webhook(notification: Notification, runtime) -> None:
    settings = runtime.settings
    if not settings.webhook_secret:
        raise DeliveryFailed("no webhook secret is configured (HOSTGUARD_WEBHOOK_SECRET)")
    try:  # one signing scheme for every outbound webhook; the delivery id is stable across retries
        post_signed(url=settings.webhook_url, secret=settings.webhook_secret, event="notification",
                    delivery_id=f"hostguard-notification-{notification.id}", payload={
                        "notification": {"id": notification.id, "kind": notification.kind,
                                         "recipient": notification.recipient, "case_id": notification.case_id,
                                         "subject": notification.subject, "body": notification.body}})
    except DeliveryError as exc:
        raise DeliveryFailed(str(exc)) from exc


def _deliver_email(notification: Notification, runtime) -> None:
    to = runtime.keys.decrypt(notification.email_enc).decode()
    send_email(runtime.settings, to=to, subject=notification.subject, body=notification.body)


def _deliver_channel(channel: str, send, *, session, payload, job) -> None:
    notification = session.get(Notification, payload["notification_id"], with_for_update=True)
    if notification is None or channel in (notification.channels or []):
        return
    notification.attempts = max(notification.attempts, job.attempts)
    send(notification)
    channels = [*(notification.channels or []), channel]
    notification.channels = channels
    notification.last_error = None
    if set(payload.get("wanted") or [channel]) <= set(channels):
        notification.status, notification.sent_at = NotificationStatus.SENT, utcnow()


@handler(CHANNEL_JOB.format("webhook"))
def deliver_webhook(*, session, payload, job, runtime) -> None:
    _deliver_channel("webhook", lambda n: _deliver_webhook(n, runtime), session=session, payload=payload, job=job)


@handler(CHANNEL_JOB.format("email"))
def deliver_email(*, session, payload, job, runtime) -> None:
    _deliver_channel("email", lambda n: _deliver_email(n, runtime), session=session, payload=payload, job=job)


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


@periodic("cases.release_quarantines", every=timedelta(minutes=1))
def release_quarantines(*, session, runtime) -> int:
    """Lift the quarantine of repos whose latest case was decided with no action.

    A repo the Hub webhook quarantined stays hidden until its case is decided; a decision not
    to act must give it back (`restore`: the settings it had before). The repo's newest case
    must be the decided one, so a quarantine for a later revision (a new open case) stays.
    """
    newest = (select(Case.repo_pk, func.max(Case.id).label("case_id")).group_by(Case.repo_pk).subquery())
    rows = session.exec(
        select(Case, ModelRepo)
        .join(newest, newest.c.case_id == Case.id)
        .join(ModelRepo, ModelRepo.id == Case.repo_pk)
        .where(ModelRepo.status == RepoStatus.QUARANTINED,
               Case.status.in_((CaseStatus.DECIDED, CaseStatus.APPEALED)))
        .order_by(Case.id).limit(500)
    ).all()
    released = 0
    for case, repo in rows:
        decision = session.exec(select(Decision).where(Decision.case_id == case.id)
                                .order_by(Decision.decided_at.desc(), Decision.id.desc())).first()
        if decision is None or decision.action != DecisionAction.NO_ACTION or decision.reversed_at is not None:
            continue
        released += release_quarantine(session, case=case, decision=decision, repo=repo, actor="system")
    return released
