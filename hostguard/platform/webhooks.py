"""Signed outbound webhooks: HMAC-SHA256 over a timestamp and the body, retried with a delivery log.

Receivers check `X-Hostguard-Signature: v1=<hex>` where the hex is
HMAC-SHA256(secret, f"{X-Hostguard-Timestamp}.{raw body}"), reject timestamps older than a
few minutes (replays), and use `X-Hostguard-Delivery` to drop duplicates (retries).

Deliveries that share an `ordering_key` (one repository's decision events) go out one at a
time in the order they were queued: a later one waits while an earlier one is pending (being
retried), and the earlier one, once delivered or given up, sends the next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard.db.types import utcnow
from hostguard.jobs.service import enqueue, handler, without_transaction
from hostguard.platform.models import DeliveryStatus, WebhookDelivery

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MAX_ATTEMPTS = 6
TIMEOUT = 10.0
TOLERANCE = 300  # seconds a receiver should accept between our timestamp and its clock
DELIVERY_JOB = "integrations.webhook"  # the kind's first name, kept: queued jobs carry it


class DeliveryError(Exception):
    """The receiver did not take the webhook (network error or non-2xx answer)."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def post_signed(
    *, url: str, secret: str, event: str, delivery_id: str, payload: dict, timeout: float = TIMEOUT
) -> int:
    """POST once; returns the status code or raises DeliveryError."""
    body = json.dumps(
        {"event": event, "delivery_id": delivery_id, "data": payload},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "hostguard-webhook/1",
            "X-Hostguard-Event": event,
            "X-Hostguard-Delivery": delivery_id,
            "X-Hostguard-Timestamp": timestamp,
            "X-Hostguard-Signature": sign(secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"receiver answered {exc.code}", exc.code) from exc
    except OSError as exc:
        raise DeliveryError(f"could not reach the receiver: {exc.__class__.__name__}") from exc


def job_delivery_id(job) -> str:
    """A delivery id derived from the job that sends it: the same on every run of that job."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"hostguard:job:{job.id}:{job.created_at.isoformat()}")
    )


def send_event(
    session: Session,
    *,
    runtime: Runtime,
    event: str,
    payload: dict,
    delivery_id: str | None = None,
    ordering_key: str | None = None,
) -> WebhookDelivery | None:
    """Queue a signed delivery of `event` to the configured webhook URL (none configured: None).

    With a `delivery_id` the call is idempotent: a delivery with that id is returned as it is.
    With an `ordering_key`, it is sent only after every earlier delivery with that key.
    """
    settings = runtime.settings
    if not settings.webhook_url:
        return None
    if delivery_id:
        existing = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
        ).first()
        if existing is not None:
            return existing
    delivery = WebhookDelivery(
        delivery_id=delivery_id or str(uuid.uuid4()),
        event=event[:64],
        url=settings.webhook_url[:500],
        payload=payload,
        ordering_key=ordering_key[:300] if ordering_key else None,
    )
    session.add(delivery)
    session.flush()
    enqueue(
        session,
        DELIVERY_JOB,
        {"delivery_id": delivery.delivery_id},
        dedupe_key=f"webhook:{delivery.delivery_id}:1",
    )
    return delivery


def attempt_delivery(session: Session, *, runtime: Runtime, delivery: WebhookDelivery) -> None:
    """One attempt; a failure schedules the next one (backoff) in the same transaction.

    In a job, the call is made with no transaction open (`without_transaction`): a slow
    receiver holds no database lock, so on SQLite web requests keep writing meanwhile. The
    outcome is then recorded in a short transaction, once: if another run of the job recorded
    this delivery meanwhile, nothing more is written (the receiver drops the repeated call by
    its `X-Hostguard-Delivery` id).
    """
    if _waits_for_an_earlier_one(session, delivery):
        return  # the earlier delivery sends this one when it is done
    secret = runtime.settings.webhook_secret
    delivery_pk = delivery.id
    request: dict[str, Any] = {
        "url": delivery.url,
        "event": delivery.event,
        "delivery_id": delivery.delivery_id,
        "payload": delivery.payload,
    }
    status_code, failure = None, None
    with without_transaction(session):
        try:
            if not secret:
                raise DeliveryError("no webhook secret is configured (HOSTGUARD_WEBHOOK_SECRET)")
            status_code = post_signed(secret=secret, **request)
        except DeliveryError as exc:
            failure = exc
    current = session.get(
        WebhookDelivery, delivery_pk, with_for_update=True, populate_existing=True
    )
    if current is None or current.status != DeliveryStatus.PENDING:
        return
    delivery = current
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    if failure is not None:
        delivery.last_status_code = failure.status_code
        delivery.last_error = str(failure)[:500]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            _send_the_next_one(session, delivery)
        else:
            enqueue(
                session,
                DELIVERY_JOB,
                {"delivery_id": delivery.delivery_id},
                dedupe_key=f"webhook:{delivery.delivery_id}:{delivery.attempts + 1}",
                run_at=utcnow() + timedelta(seconds=min(30 * 2 ** (delivery.attempts - 1), 3600)),
            )
        return
    delivery.last_status_code = status_code
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = utcnow()
    delivery.last_error = None
    _send_the_next_one(session, delivery)


def _waits_for_an_earlier_one(session: Session, delivery: WebhookDelivery) -> bool:
    if not delivery.ordering_key:
        return False
    earlier = session.exec(
        select(WebhookDelivery.id).where(
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            col(WebhookDelivery.id) < delivery.id,
        )
    ).first()
    return earlier is not None


def _send_the_next_one(session: Session, delivery: WebhookDelivery) -> None:
    """Queue the next pending delivery with the same ordering key, now."""
    if not delivery.ordering_key:
        return
    following = session.exec(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.ordering_key == delivery.ordering_key,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            col(WebhookDelivery.id) > delivery.id,
        )
        .order_by(col(WebhookDelivery.id))
    ).first()
    if following is not None:
        enqueue(
            session,
            DELIVERY_JOB,
            {"delivery_id": following.delivery_id},
            dedupe_key=f"webhook:{following.delivery_id}:after:{delivery.delivery_id}"[:200],
        )


@handler(DELIVERY_JOB)
def _deliver(*, session, payload, job, runtime: Runtime) -> None:
    delivery = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.delivery_id == payload["delivery_id"])
    ).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    attempt_delivery(session, runtime=runtime, delivery=delivery)
