"""Delivering outbox notifications and Transparency Database submissions over HTTP and SMTP.

Webhook notifications go through hostguard.platform.webhooks.post_signed, the one signing
scheme every outbound webhook uses.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import requests

TIMEOUT = 10


class DeliveryFailed(Exception):
    """The other side did not accept the message; the job is retried with back-off."""


def send_email(
    settings, *, to: str, subject: str, body: str, message_id: str | None = None
) -> None:
    """Send one e-mail. `message_id` names the message the same way on every retry (a resend
    after a lost answer or a lease that ran out), so mail systems and clients can drop repeats."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
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
        return requests.post(
            url.rstrip("/") + "/statements",
            json={"statements": statements},
            headers=headers,
            timeout=60,
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(
            f"Transparency Database unreachable: {exc.__class__.__name__}"
        ) from exc


def puid_exists(url: str, token: str | None, puid: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(
            url.rstrip("/") + f"/statement/existing-puid/{puid}",
            headers=headers,
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(
            f"Transparency Database unreachable: {exc.__class__.__name__}"
        ) from exc
    return response.status_code in (200, 302)
