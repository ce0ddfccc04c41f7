"""Verify hostguard's signed webhooks (the receiving side of hostguard.platform.webhooks).

hostguard sends `X-Hostguard-Signature: v1=<hex>`, the hex being
HMAC-SHA256(secret, f"{X-Hostguard-Timestamp}.{raw body}"); `X-Hostguard-Delivery` is the same
on every retry of one delivery (for decision events it is the event's id), so a receiver drops
ids it has seen. The body is `{"event", "delivery_id", "data"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hostguard_client.errors import HostguardError

TOLERANCE = 300  # seconds between hostguard's timestamp and this clock that are accepted
SIGNATURE_HEADER = "X-Hostguard-Signature"
TIMESTAMP_HEADER = "X-Hostguard-Timestamp"
DELIVERY_HEADER = "X-Hostguard-Delivery"
EVENT_HEADER = "X-Hostguard-Event"


class WebhookVerificationError(HostguardError):
    """The delivery is not from hostguard (bad or missing signature) or is a stale replay."""


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery: the event type, its delivery id (de-duplicate on it) and its data."""

    event: str
    delivery_id: str
    data: dict[str, Any]
    timestamp: int


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value hostguard sends for this timestamp and body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def verify(
    secret: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery's signature and age; return the event or raise WebhookVerificationError.

    `body` must be the raw request body, byte for byte (not re-serialised JSON); `headers` any
    mapping of the request's headers (names compared case-insensitively).
    """
    if not secret:
        raise WebhookVerificationError("no webhook secret given to verify with")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise WebhookVerificationError(
            f"the {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header is missing"
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} is not a number") from None
    age = abs((time.time() if now is None else now) - sent_at)
    if age > tolerance:
        raise WebhookVerificationError(
            f"the delivery's timestamp is {int(age)} s away from this clock (more than "
            f"{tolerance} s): a replay, or a clock to fix"
        )
    expected = sign(secret, timestamp, body)
    offered = [s.strip() for s in signature.split(",")]  # room for a second scheme or key later
    if not any(hmac.compare_digest(expected, s) for s in offered):
        raise WebhookVerificationError("the signature does not match this secret and body")
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the signed body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the signed body is not a JSON object")
    delivery_id = str(payload.get("delivery_id") or _header(headers, DELIVERY_HEADER) or "")
    data = payload.get("data")
    return WebhookEvent(
        event=str(payload.get("event") or _header(headers, EVENT_HEADER) or ""),
        delivery_id=delivery_id,
        data=data if isinstance(data, dict) else {},
        timestamp=sent_at,
    )


class SeenDeliveries:
    """The delivery ids handled lately, to drop a retry of one already handled (in memory).

    A receiver running several processes keeps the ids in its database instead (a unique
    column); this is enough for one process.
    """

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, delivery_id: str) -> bool:
        """True the first time an id is offered, False for a repeat."""
        if delivery_id in self._ids:
            self._ids.move_to_end(delivery_id)
            return False
        self._ids[delivery_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True
