"""A job waiting on a slow webhook receiver holds no database lock: web writes go on meanwhile."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hostguard.registry  # noqa: F401  (registers the webhook handler)
from hostguard.audit.models import AuditRecord
from hostguard.audit.service import record
from hostguard.jobs import service
from hostguard.jobs.models import Job, JobStatus
from hostguard.platform.models import WebhookDelivery
from hostguard.platform.webhooks import send_event
from tests.hashing.test_hashlists import pdq_hashes

SECRET = "outbound-secret-789"


class SlowReceiver:
    """A webhook receiver on 127.0.0.1 that holds each request until the test lets it answer."""

    def __init__(self, during=None):
        self.arrived = threading.Event()
        self.answer = threading.Event()
        self.received: list[str] = []
        self.during = during

        @Request.application
        def app(request):
            self.received.append(request.headers["X-Hostguard-Delivery"])
            self.arrived.set()
            if self.during:
                self.during()
            self.answer.wait(15)
            return Response("ok", status=200)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def slow_receiver(runtime):
    made = []

    def make(during=None) -> SlowReceiver:
        receiver = SlowReceiver(during)
        made.append(receiver)
        runtime.settings.webhook_url, runtime.settings.webhook_secret = receiver.url, SECRET
        return receiver

    yield make
    for receiver in made:
        receiver.answer.set()
        receiver.server.shutdown()


def _queue_delivery(runtime) -> tuple[int, str]:
    with runtime.session() as s:
        delivery = send_event(s, runtime=runtime, event="case.deadline", payload={"case_id": 1})
        job = s.exec(select(Job).where(Job.kind == "integrations.webhook")).one()
        return job.id, delivery.delivery_id


def _run_in_thread(runtime, job_id: int, worker: str = "w1") -> tuple[threading.Thread, list]:
    assert service.claim(runtime.engine, worker=worker) == [job_id]
    outcome: list = []
    thread = threading.Thread(
        target=lambda: outcome.append(
            service.run_job(runtime.engine, job_id, worker=worker, runtime=runtime)
        )
    )
    thread.start()
    return thread, outcome


def _write_while_the_receiver_waits(receiver, thread, client, headers) -> None:
    """A web request writes while the job's call is held by the receiver: it must not wait."""
    try:
        assert receiver.arrived.wait(10), "the job never called the receiver"
        started = time.monotonic()
        written = client.post(
            "/api/v1/hashlists/partner/import?algorithm=pdq",
            data="\n".join(pdq_hashes(2)),
            headers=headers,
            content_type="text/plain",
        )
        waited = time.monotonic() - started
        assert written.status_code == 200, written.get_data(as_text=True)
        assert waited < 3, f"a web write waited {waited:.1f}s behind a job calling a receiver"
        assert thread.is_alive(), "the receiver was still holding the call during the write"
    finally:
        receiver.answer.set()
        thread.join(30)


def test_a_slow_receiver_does_not_stall_a_web_write(runtime, slow_receiver, client, api_headers):
    receiver = slow_receiver()
    headers = api_headers("operator")
    job_id, delivery_id = _queue_delivery(runtime)
    thread, outcome = _run_in_thread(runtime, job_id)
    _write_while_the_receiver_waits(receiver, thread, client, headers)
    assert outcome == [JobStatus.DONE]
    assert receiver.received == [delivery_id]
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "delivered",
            1,
            200,
        )
        job = s.get(Job, job_id)
        assert (job.status, job.locked_by) == (JobStatus.DONE, None)


def test_a_job_taken_over_while_it_waited_records_nothing(runtime, slow_receiver):
    """Its lease ran out during the call and another worker took it: the first run writes nothing."""
    engine = runtime.engine

    def take_over():  # possible only because the waiting job holds no lock on its row
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE jobs SET locked_by = 'w2' WHERE kind = 'integrations.webhook'")
            )

    receiver = slow_receiver(during=take_over)
    job_id, _ = _queue_delivery(runtime)
    receiver.answer.set()
    thread, outcome = _run_in_thread(runtime, job_id)
    thread.join(30)
    assert outcome == ["lost"]
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        job = s.get(Job, job_id)
        assert (job.status, job.locked_by) == (JobStatus.RUNNING, "w2")


def test_a_delivery_recorded_meanwhile_is_not_recorded_again(runtime, slow_receiver):
    """Another run of the job delivered it while this one waited: one delivery, one attempt."""
    engine = runtime.engine

    def delivered_elsewhere():
        with engine.begin() as conn:
            conn.execute(text("UPDATE webhook_deliveries SET status = 'delivered', attempts = 1"))

    receiver = slow_receiver(during=delivered_elsewhere)
    job_id, _ = _queue_delivery(runtime)
    receiver.answer.set()
    thread, outcome = _run_in_thread(runtime, job_id)
    thread.join(30)
    assert outcome == [JobStatus.DONE]
    with runtime.session() as s:
        delivery = s.exec(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_a_handler_that_already_wrote_keeps_its_transaction(runtime):
    """Letting go of the transaction after a write would commit that write without the job."""
    seen = []

    @service.handler("test.wrote_then_waits")
    def _wrote_then_waits(*, session, payload, job, runtime):
        record(session, actor="system", action="test.written", subject=f"job:{job.id}")
        with service.without_transaction(session) as let_go:
            seen.append(let_go)
        if payload.get("fail"):
            raise RuntimeError("after the wait")

    with runtime.session() as s:
        ok = service.enqueue(s, "test.wrote_then_waits", {}).id
        service.enqueue(s, "test.wrote_then_waits", {"fail": True}, max_attempts=1)
    service.run_due(runtime.engine, runtime=runtime)
    assert seen == [False, False]
    with runtime.session() as s:
        assert [r.subject for r in s.exec(select(AuditRecord))] == [f"job:{ok}"]


def test_outside_a_job_the_block_runs_in_the_transaction(runtime):
    with runtime.session() as s, service.without_transaction(s) as let_go:
        assert let_go is False


def test_a_handler_that_wrote_with_a_plain_statement_keeps_its_transaction(runtime):
    """Writes run with session.execute() never reach the unit of work; they count all the same."""
    seen = []

    @service.handler("test.wrote_sql_then_waits")
    def _wrote_sql_then_waits(*, session, payload, job, runtime):
        session.execute(text("UPDATE jobs SET payload = payload WHERE id = :id"), {"id": job.id})
        with service.without_transaction(session) as let_go:
            seen.append(let_go)

    with runtime.session() as s:
        service.enqueue(s, "test.wrote_sql_then_waits", {})
    service.run_due(runtime.engine, runtime=runtime)
    assert seen == [False]


def test_a_slow_notification_receiver_does_not_stall_a_web_write(
    runtime, slow_receiver, client, api_headers
):
    """Notifications to notifiers and uploaders go out the same way: no lock held while they wait."""
    from hostguard.cases.jobs import CHANNEL_JOB
    from hostguard.cases.models import Notification, NotificationStatus

    receiver = slow_receiver()
    with runtime.session() as s:
        notification = Notification(
            recipient="uploader:u-1",
            kind="decision",
            subject="Your model",
            body="We restricted your model.",
        )
        s.add(notification)
        s.flush()
        notification_id = notification.id
        job_id = service.enqueue(
            s,
            CHANNEL_JOB.format("webhook"),
            {"notification_id": notification_id, "wanted": ["webhook"]},
        ).id
    thread, outcome = _run_in_thread(runtime, job_id)
    _write_while_the_receiver_waits(receiver, thread, client, api_headers("operator"))
    assert outcome == [JobStatus.DONE]
    assert receiver.received == [f"hostguard-notification-{notification_id}"]
    with runtime.session() as s:
        sent = s.get(Notification, notification_id)
        assert (sent.status, sent.channels, sent.attempts) == (
            NotificationStatus.SENT,
            ["webhook"],
            1,
        )
