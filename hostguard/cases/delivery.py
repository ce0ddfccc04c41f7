"""Delivering outbox notifications and Transparency Database submissions over HTTP and SMTP.

Webhook bodies are signed with HMAC-SHA256 over `<timestamp>.<body>` using the configured
webhook secret (header `X-Hostguard-Signature: t=<unix time>,v1=<hex>`), and carry an
`Idempotency-Key` so a retried delivery can be recognised by the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from typing import Any

import requests

TIMEOUT = 10


class DeliveryFailed(Exception):
    """The other side did not accept the message; the job is retried with back-off."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_signed(url: str, secret: str | None, payload: dict[str, Any], *, idempotency_key: str) -> None:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
               "User-Agent": "hostguard"}
    if secret:
        headers["X-Hostguard-Signature"] = sign(secret, int(time.time()), body)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"webhook unreachable: {exc.__class__.__name__}") from exc
    if response.status_code >= 300:
        raise DeliveryFailed(f"webhook answered {response.status_code}")


def send_email(settings, *, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP delivery failed: {exc.__class__.__name__}") from exc


def submit_tdb_batch(url: str, token: str | None, statements: list[dict]) -> requests.Response:
    """POST one batch (at most 100) to the Transparency Database `/statements` endpoint."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return requests.post(url.rstrip("/") + "/statements", json={"statements": statements},
                             headers=headers, timeout=60)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"Transparency Database unreachable: {exc.__class__.__name__}") from exc


def puid_exists(url: str, token: str | None, puid: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(url.rstrip("/") + f"/statement/existing-puid/{puid}", headers=headers,
                                timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"Transparency Database unreachable: {exc.__class__.__name__}") from exc
    return response.status_code in (200, 302)
