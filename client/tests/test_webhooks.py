"""Verifying hostguard's signed webhooks: real deliveries from a real hostguard, and forgeries."""

from __future__ import annotations

import json
import time

import pytest

from hostguard_client.webhooks import (
    SeenDeliveries,
    WebhookVerificationError,
    sign,
    verify,
)


def _take_down(hg, moderator, names) -> None:
    hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    notice = hg.submit_notice(
        items=[names["repo"]],
        category="hate",
        explanation="Generates hateful imagery.",
        notifier_name="Nora",
        notifier_email="nora@example.org",
        good_faith=True,
    )
    case_id = notice.case_ids[0]
    moderator.claim_case(case_id)
    moderator.decide_case(
        case_id,
        action="take_down",
        ground="terms_of_service",
        ground_reference="Terms § 4",
        category="hate",
        explanation="Generates hateful imagery.",
    )


def test_a_real_delivery_verifies_and_a_forged_one_does_not(hg, moderator, receiver, server, names):
    _take_down(hg, moderator, names)
    headers, body = receiver.wait_for(
        lambda h, b: (
            h.get("X-Hostguard-Event") == "action.take_down"
            and json.loads(b)["data"].get("repo_id") == names["repo"]
        )
    )
    event = verify(server.webhook_secret, body=body, headers=headers)
    assert event.event == "action.take_down" and event.data["repo_id"] == names["repo"]
    assert event.delivery_id == headers["X-Hostguard-Delivery"]
    lowered = {k.lower(): v for k, v in headers.items()}  # frameworks spell headers differently
    assert verify(server.webhook_secret, body=body, headers=lowered) == event

    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify("another-secret", body=body, headers=headers)
    for position in (0, len(body) // 2, len(body) - 1):
        altered = body[:position] + bytes([body[position] ^ 1]) + body[position + 1 :]
        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify(server.webhook_secret, body=altered, headers=headers)
    with pytest.raises(WebhookVerificationError, match="away from this clock"):
        verify(server.webhook_secret, body=body, headers=headers, now=time.time() + 301)
    unsigned = {k: v for k, v in headers.items() if k != "X-Hostguard-Signature"}
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(server.webhook_secret, body=body, headers=unsigned)
    fresh = str(int(time.time()) + 1)  # a replay cannot be freshened without the secret
    replay = {**headers, "X-Hostguard-Timestamp": fresh}
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(server.webhook_secret, body=body, headers=replay)
    resigned = {**replay, "X-Hostguard-Signature": sign(server.webhook_secret, fresh, body)}
    assert verify(server.webhook_secret, body=body, headers=resigned) == event.__class__(
        event=event.event, delivery_id=event.delivery_id, data=event.data, timestamp=int(fresh)
    )


def test_a_retried_delivery_is_recognised_by_its_id():
    seen = SeenDeliveries(capacity=2)
    assert seen.first_time("a") and seen.first_time("b")
    assert not seen.first_time("a")
    assert seen.first_time("c")  # "b" was the oldest and is forgotten
    assert seen.first_time("b") and not seen.first_time("c")
