"""Signed outbound webhooks: HMAC over timestamp + body, retries with backoff, a delivery log."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlmodel import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hostguard.registry  # noqa: F401
from hostguard.db.types import utcnow
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import WebhookDelivery
from hostguard.platform.webhooks import send_event, verify_signature

SECRET = "outbound-secret-456"


class Receiver:
    """A platform endpoint on 127.0.0.1 that answers with the statuses it is given, in order."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.received = []

        @Request.application
        def app(request):
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            return Response("ok", status=self.statuses.pop(0) if self.statuses else 200)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hostguard"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        r = Receiver(statuses)
        made.append(r)
        return r

    yield make
    for r in made:
        r.server.shutdown()


def _make_due(runtime):
    with runtime.session() as s:
        for job in s.exec(select(Job).where(Job.status == "queued")).all():
            job.run_at = utcnow() - timedelta(seconds=1)


def test_delivery_is_signed_and_retried_until_it_lands(runtime, receiver):
    target = receiver(500, 200)
    runtime.settings.webhook_url, runtime.settings.webhook_secret = target.url, SECRET
    with runtime.session() as s:
        send_event(s, runtime=runtime, event="case.decided", payload={"case_id": 7})
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (
            delivery.status == "pending"
            and delivery.attempts == 1
            and delivery.last_status_code == 500
        )
    run_due(runtime.engine, runtime=runtime)
    assert len(target.received) == 1  # the retry waits for its backoff
    _make_due(runtime)
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.delivered_at
    first, second = target.received
    for got in (first, second):
        h = got["headers"]
        assert verify_signature(
            SECRET,
            timestamp=h["X-Hostguard-Timestamp"],
            body=got["body"],
            signature=h["X-Hostguard-Signature"],
        )
        assert not verify_signature(
            "other",
            timestamp=h["X-Hostguard-Timestamp"],
            body=got["body"],
            signature=h["X-Hostguard-Signature"],
        )
        assert not verify_signature(
            SECRET,
            timestamp=h["X-Hostguard-Timestamp"],
            body=got["body"] + b" ",
            signature=h["X-Hostguard-Signature"],
        )
    assert first["headers"]["X-Hostguard-Delivery"] == second["headers"]["X-Hostguard-Delivery"]
    assert json.loads(first["body"])["data"] == {"case_id": 7}


def test_stale_timestamps_are_refused_by_the_receiver_check():
    import hmac as _hmac  # noqa: F401

    from hostguard.platform.webhooks import sign

    sig = sign(SECRET, "1000", b"{}")
    assert not verify_signature(SECRET, timestamp="1000", body=b"{}", signature=sig, now=1000 + 301)
    assert verify_signature(SECRET, timestamp="1000", body=b"{}", signature=sig, now=1000 + 10)


def test_delivery_gives_up_after_the_last_attempt(runtime, receiver):
    from hostguard.platform.webhooks import MAX_ATTEMPTS

    target = receiver(*([503] * MAX_ATTEMPTS))
    runtime.settings.webhook_url, runtime.settings.webhook_secret = target.url, SECRET
    with runtime.session() as s:
        send_event(s, runtime=runtime, event="x", payload={})
    for _ in range(MAX_ATTEMPTS):
        _make_due(runtime)
        run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
        assert delivery.last_error == "receiver answered 503"


def test_webhook_actioner_sends_platform_actions_signed(runtime, receiver):
    target = receiver(200)
    runtime.settings.webhook_url, runtime.settings.webhook_secret = target.url, SECRET
    runtime.settings.actioner = "webhook"
    with runtime.session() as s:
        queue_action(
            s, PlatformAction(kind="quarantine", repo_id="alice/m", case_id=3, message="held")
        )
    run_due(runtime.engine, runtime=runtime)
    (got,) = target.received
    assert got["headers"]["X-Hostguard-Event"] == "action.quarantine"
    assert verify_signature(
        SECRET,
        timestamp=got["headers"]["X-Hostguard-Timestamp"],
        body=got["body"],
        signature=got["headers"]["X-Hostguard-Signature"],
    )
    assert json.loads(got["body"])["data"]["repo_id"] == "alice/m"
    with runtime.session() as s:
        job = s.exec(select(Job).where(Job.kind == "platform.action")).one()
        assert job.status == "done" and job.payload["result"]["delivery"] == "queued"
        delivery = s.exec(select(WebhookDelivery)).one()
        assert delivery.status == "delivered" and delivery.event == "action.quarantine"
        assert (
            job.payload["result"]["delivery_id"]
            == delivery.delivery_id
            == got["headers"]["X-Hostguard-Delivery"]
        )


def test_action_webhook_retries_carry_one_delivery_id_and_are_logged(runtime, receiver):
    """The receiver fails first, then takes it: one delivery id, two signed attempts, both in the log."""
    target = receiver(503, 200)
    runtime.settings.webhook_url, runtime.settings.webhook_secret = target.url, SECRET
    runtime.settings.actioner = "webhook"
    with runtime.session() as s:
        queue_action(
            s,
            PlatformAction(kind="take_down", repo_id="alice/m", case_id=4, message="removed"),
            dedupe_key="case:4:decision:1:take_down",
        )
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (
            delivery.status == "pending"
            and delivery.attempts == 1
            and delivery.last_status_code == 503
        )
        assert delivery.last_error == "receiver answered 503"
        action_job = s.exec(select(Job).where(Job.kind == "platform.action")).one()
        assert action_job.status == "done"
    _make_due(runtime)
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (
            delivery.status == "delivered"
            and delivery.attempts == 2
            and delivery.last_status_code == 200
        )
        assert delivery.delivered_at and delivery.last_error is None
        assert len(s.exec(select(Job).where(Job.kind == "integrations.webhook")).all()) == 2
    first, second = target.received
    assert (
        first["headers"]["X-Hostguard-Delivery"]
        == second["headers"]["X-Hostguard-Delivery"]
        == delivery.delivery_id
    )
    for got in (first, second):
        h = got["headers"]
        assert h["X-Hostguard-Event"] == "action.take_down"
        assert verify_signature(
            SECRET,
            timestamp=h["X-Hostguard-Timestamp"],
            body=got["body"],
            signature=h["X-Hostguard-Signature"],
        )
        assert json.loads(got["body"])["delivery_id"] == delivery.delivery_id
        assert json.loads(got["body"])["data"]["repo_id"] == "alice/m"


def test_action_delivery_id_is_derived_from_the_job(runtime, receiver):
    """Running the action's job again (a worker died before it committed) queues no second delivery."""
    from hostguard.integrations.actioners import WebhookActioner
    from hostguard.platform.webhooks import job_delivery_id

    target = receiver()
    runtime.settings.webhook_url, runtime.settings.webhook_secret = target.url, SECRET
    action = PlatformAction(kind="restore", repo_id="alice/m", case_id=5)
    with runtime.session() as s:
        job = queue_action(s, action)
        first = WebhookActioner().apply(action, runtime=runtime, session=s, job=job)
        again = WebhookActioner().apply(action, runtime=runtime, session=s, job=job)
        assert first["delivery_id"] == again["delivery_id"] == job_delivery_id(job)
        other = queue_action(s, PlatformAction(kind="restore", repo_id="alice/n", case_id=5))
        assert job_delivery_id(other) != job_delivery_id(job)
        assert len(s.exec(select(WebhookDelivery)).all()) == 1
