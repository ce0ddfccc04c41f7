"""Signed outbound webhooks: HMAC-SHA256 over a timestamp and the body, retried with a delivery log.

Receivers check `X-Hostguard-Signature: v1=<hex>` where the hex is
HMAC-SHA256(secret, f"{X-Hostguard-Timestamp}.{raw body}"), reject timestamps older than a
few minutes (replays), and use `X-Hostguard-Delivery` to drop duplicates (retries).

Deliveries that share an `ordering_key` (one repository's decision events) go out one at a
time in the order they were queued: a later one waits while an earlier one is pending (being
retried), and the earlier one, once delivered or given up, sends the next.

Endpoints. Every event goes to `HOSTGUARD_WEBHOOK_URL` (signed with `HOSTGUARD_WEBHOOK_SECRET`)
when it is set, and to each endpoint an operator added (`hostguard webhook add`, the API, the
console), signed with that endpoint's own secret (stored encrypted, shown once) and filtered
by its event types. Each endpoint gets its own delivery of an event, retried and ordered on its
own, so a receiver that is down holds up no other. Every delivery of one event carries the
same `event_id` (body and `X-Hostguard-Event-Id`); the `HOSTGUARD_WEBHOOK_URL` delivery keeps
the event's id as its `X-Hostguard-Delivery` too, as before endpoints existed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound
from hostguard.jobs.service import enqueue, handler, without_transaction
from hostguard.platform.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

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
    *,
    url: str,
    secret: str,
    event: str,
    delivery_id: str,
    payload: dict,
    timeout: float = TIMEOUT,
    event_id: str | None = None,
) -> int:
    """POST once; returns the status code or raises DeliveryError."""
    message: dict[str, Any] = {"event": event, "delivery_id": delivery_id, "data": payload}
    if event_id:
        message["event_id"] = event_id
    body = json.dumps(message, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "hostguard-webhook/1",
        "X-Hostguard-Event": event,
        "X-Hostguard-Delivery": delivery_id,
        "X-Hostguard-Timestamp": timestamp,
        "X-Hostguard-Signature": sign(secret, timestamp, body),
    }
    if event_id:
        headers["X-Hostguard-Event-Id"] = event_id
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
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


# --- endpoints -------------------------------------------------------------------------------

EVENT_FILTER = re.compile(r"^[a-z_*]+(\.[a-z_*]+)*$")
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LIVE_ENDPOINTS = select(WebhookEndpoint).where(
    WebhookEndpoint.enabled == True,  # noqa: E712 - SQL comparison
    col(WebhookEndpoint.removed_at).is_(None),
)


def _receives(endpoint: WebhookEndpoint, event: str) -> bool:
    return not endpoint.events or any(fnmatch.fnmatchcase(event, f) for f in endpoint.events)


def _check_url(url: str) -> str:
    url = url.strip()
    if not re.match(r"^https?://[^\s/]+", url) or len(url) > 500:
        raise InvalidInput(
            "the endpoint URL must be an http:// or https:// URL (at most 500 characters)"
        )
    return url


def add_endpoint(
    session: Session, *, runtime: Runtime, actor: str, name: str, url: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it and its signing secret (shown once, stored encrypted).

    `events`: event types or patterns (`upload.*`) it receives; empty: every event."""
    name = name.strip()
    if not ENDPOINT_NAME.match(name):
        raise InvalidInput(
            "an endpoint name is 1 to 100 letters, digits, dots, dashes or underscores"
        )
    url = _check_url(url)
    cleaned = sorted({e.strip() for e in events if e.strip()})
    bad = [e for e in cleaned if not EVENT_FILTER.match(e) or len(e) > 64]
    if bad:
        raise InvalidInput(
            f"not an event type: {', '.join(bad)[:200]} (e.g. upload.decision, upload.*)"
        )
    taken = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.name == name)).first()
    if taken is not None:
        raise Conflict(f"there is already a webhook endpoint named {name!r}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        name=name, url=url, secret_enc=runtime.keys.encrypt(secret), events=cleaned
    )
    session.add(endpoint)
    session.flush()
    record(
        session,
        actor=actor,
        action="webhook_endpoint.add",
        subject=f"webhook_endpoint:{endpoint.id}",
        details={"name": name, "events": cleaned},
    )
    return endpoint, secret


def list_endpoints(session: Session, *, include_removed: bool = False) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
    if not include_removed:
        query = query.where(col(WebhookEndpoint.removed_at).is_(None))
    return list(session.exec(query))


def get_endpoint(session: Session, ident: str | int) -> WebhookEndpoint:
    text = str(ident).strip()
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.removed_at).is_(None))
    if text.isdigit():
        found = session.exec(query.where(WebhookEndpoint.id == int(text))).first()
    else:
        found = session.exec(query.where(WebhookEndpoint.name == text[:100])).first()
    if found is None:
        raise NotFound(f"no webhook endpoint {text[:100]!r}", code="endpoint_not_found")
    return found


def remove_endpoint(session: Session, *, actor: str, ident: str | int) -> WebhookEndpoint:
    """Remove an endpoint: nothing more is sent to it, its pending deliveries are given up."""
    endpoint = get_endpoint(session, ident)
    endpoint.removed_at = utcnow()
    endpoint.enabled = False
    endpoint.name = f"{endpoint.name}~{endpoint.id}"[:100]  # the name is free for a new one
    session.add(endpoint)
    for pending in session.exec(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
    ):
        pending.status = DeliveryStatus.FAILED
        pending.last_error = "the endpoint was removed"
        session.add(pending)
    record(
        session,
        actor=actor,
        action="webhook_endpoint.remove",
        subject=f"webhook_endpoint:{endpoint.id}",
    )
    return endpoint


def endpoint_counts(session: Session, endpoint: WebhookEndpoint) -> dict[str, int]:
    """How many of the endpoint's deliveries are pending, delivered and failed."""
    rows = session.exec(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(WebhookDelivery.status)
    ).all()
    counts = {str(status): int(n) for status, n in rows}
    return {s: counts.get(s, 0) for s in ("pending", "delivered", "failed")}


def endpoint_public(session: Session, endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the API and the console show of an endpoint (never its secret)."""
    return {
        "id": endpoint.id,
        "name": endpoint.name,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "created_at": endpoint.created_at.isoformat(),
        "deliveries": endpoint_counts(session, endpoint),
    }


def webhooks_configured(session: Session, *, runtime: Runtime) -> bool:
    """Whether any event would go anywhere (HOSTGUARD_WEBHOOK_URL or an endpoint)."""
    return bool(runtime.settings.webhook_url) or session.exec(_LIVE_ENDPOINTS).first() is not None


def endpoint_delivery_id(event_id: str, endpoint_id: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostguard:event:{event_id}:endpoint:{endpoint_id}"))


def send_event(
    session: Session,
    *,
    runtime: Runtime,
    event: str,
    payload: dict,
    delivery_id: str | None = None,
    ordering_key: str | None = None,
) -> WebhookDelivery | None:
    """Queue a signed delivery of `event` to every endpoint that receives it (none: None).

    `delivery_id` is the event's id: with it the call is idempotent (an event already queued
    is returned as it is). With an `ordering_key`, each endpoint gets the event only after
    every earlier event with that key. Returns the `HOSTGUARD_WEBHOOK_URL` delivery, or else
    the first endpoint's.
    """
    settings = runtime.settings
    endpoints = [e for e in session.exec(_LIVE_ENDPOINTS) if _receives(e, event)]
    if not settings.webhook_url and not endpoints:
        return None
    event_id = delivery_id or str(uuid.uuid4())
    if delivery_id:
        existing = session.exec(
            select(WebhookDelivery)
            .where(
                (WebhookDelivery.delivery_id == delivery_id)
                | (WebhookDelivery.event_id == delivery_id)
            )
            .order_by(col(WebhookDelivery.id))
        ).first()
        if existing is not None:
            return existing
    targets: list[tuple[int | None, str]] = []
    if settings.webhook_url:
        targets.append((None, settings.webhook_url))
    targets += [(e.id, e.url) for e in endpoints]
    deliveries = []
    for endpoint_id, url in targets:
        key = ordering_key[:280] if ordering_key else None
        delivery = WebhookDelivery(
            delivery_id=event_id
            if endpoint_id is None
            else endpoint_delivery_id(event_id, endpoint_id),
            event_id=event_id,
            endpoint_id=endpoint_id,
            event=event[:64],
            url=url[:500],
            payload=payload,
            # each endpoint keeps its own order, so one that is down holds up no other
            ordering_key=None
            if key is None
            else (key if endpoint_id is None else f"{key}@{endpoint_id}"),
        )
        session.add(delivery)
        deliveries.append(delivery)
    session.flush()
    for delivery in deliveries:
        enqueue(
            session,
            DELIVERY_JOB,
            {"delivery_id": delivery.delivery_id},
            dedupe_key=f"webhook:{delivery.delivery_id}:1",
        )
    return deliveries[0]


def _secret_for(session: Session, runtime: Runtime, delivery: WebhookDelivery) -> str | None:
    if delivery.endpoint_id is None:
        return runtime.settings.webhook_secret
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or endpoint.removed_at is not None:
        return None
    return runtime.keys.decrypt_str(endpoint.secret_enc)


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
    secret = _secret_for(session, runtime, delivery)
    delivery_pk = delivery.id
    request: dict[str, Any] = {
        "url": delivery.url,
        "event": delivery.event,
        "delivery_id": delivery.delivery_id,
        "payload": delivery.payload,
        "event_id": delivery.event_id,
    }
    status_code, failure = None, None
    with without_transaction(session):
        try:
            if not secret and delivery.endpoint_id is not None:
                raise DeliveryError("the endpoint was removed")
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
