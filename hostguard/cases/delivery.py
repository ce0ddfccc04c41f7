"""Delivering outbox notifications and Transparency Database submissions over HTTP and SMTP.

Webhook notifications go through hostguard.platform.webhooks.post_signed, the one signing
scheme every outbound webhook uses.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import quote

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


def _tdb_headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def submit_tdb_batch(
    url: str, token: str | None, statements: list[dict], *, timeout: float = 60
) -> requests.Response:
    """POST one batch (at most 100) to the Transparency Database `/statements` endpoint.

    Whatever the database answers is returned; `DeliveryFailed` when no answer came (refused,
    reset, timed out), in which case the statements may or may not have been stored.
    """
    try:
        return requests.post(
            url.rstrip("/") + "/statements",
            json={"statements": statements},
            headers=_tdb_headers(token),
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(
            f"Transparency Database unreachable: {exc.__class__.__name__}"
        ) from exc


def puid_exists(url: str, token: str | None, puid: str) -> bool:
    """Whether the database holds a statement with this puid (`existing-puid`: 302 yes, 404 no).

    Any other answer (a refused token, a server error) says nothing, so it raises
    `DeliveryFailed` rather than let the caller send the statement again.
    """
    try:
        response = requests.get(
            url.rstrip("/") + f"/statement/existing-puid/{quote(puid, safe='')}",
            headers=_tdb_headers(token),
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(
            f"Transparency Database unreachable: {exc.__class__.__name__}"
        ) from exc
    if response.status_code in (200, 302):
        return True
    if response.status_code == 404:
        return False
    raise DeliveryFailed(
        f"Transparency Database answered {response.status_code} to the puid lookup"
    )
