"""Concurrent claims never both win; the outbox retries deliveries and signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, col, select

from hostguard.cases.claims import claim_case
from hostguard.cases.models import Case, CaseEvidence, NoticeItem, Notification
from hostguard.db.types import utcnow
from hostguard.errors import Conflict
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from hostguard.platform.models import ModelRepo
from hostguard.platform.service import get_or_create_repo


def test_concurrent_claims_have_exactly_one_winner(runtime, notice, people):
    _, (case,) = notice()
    moderators = [people("moderator", i) for i in range(6)]
    barrier = threading.Barrier(len(moderators))
    results: dict[int, str] = {}

    def attempt(user):
        with Session(runtime.engine) as session:
            barrier.wait()
            try:
                claim_case(
                    session=session,
                    case_id=case.id,
                    user=user,
                    actor=user.actor,
                    policy=runtime.policy,
                )
                session.commit()
                results[user.id] = "won"
            except Conflict:
                session.rollback()
                results[user.id] = "lost"

    threads = [threading.Thread(target=attempt, args=(m,)) for m in moderators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results.values()) == ["lost"] * 5 + ["won"]
    winner = next(uid for uid, r in results.items() if r == "won")
    with Session(runtime.engine) as session:
        assert session.get(Case, case.id).assigned_to == winner


def test_concurrent_notices_about_a_model_without_a_case_open_exactly_one(runtime, monkeypatch):
    """No case row exists to lock; without the per-model lock each notice would open its own case."""
    import hostguard.cases.intake as intake

    with (
        runtime.session() as session
    ):  # known model, no case yet (a new repo row would serialise them)
        get_or_create_repo(session, repo_id="race/new-model")

    real_priority_for = intake.priority_for

    def slow_priority_for(*args, **kwargs):  # widen the gap between "no open case" and the insert
        time.sleep(0.3)
        return real_priority_for(*args, **kwargs)

    monkeypatch.setattr(intake, "priority_for", slow_priority_for)
    senders = 5
    barrier = threading.Barrier(senders)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            with Session(runtime.engine) as session:
                barrier.wait()
                intake.submit_notice(
                    policy=runtime.policy,
                    session=session,
                    runtime=runtime,
                    actor="public",
                    client=f"203.0.113.{n}",
                    data=intake.NoticeInput(
                        items=["race/new-model"],
                        category="hate",
                        explanation="Generates hate imagery.",
                        notifier_name=f"Sender {n}",
                        notifier_email=f"sender{n}@example.org",
                        good_faith=True,
                    ),
                )
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with Session(runtime.engine) as session:
        repo = session.exec(select(ModelRepo).where(ModelRepo.repo_id == "race/new-model")).one()
        cases = session.exec(select(Case).where(Case.repo_pk == repo.id)).all()
        assert [c.status for c in cases] == ["open"]
        items = session.exec(select(NoticeItem)).all()
        assert len(items) == senders and {i.case_id for i in items} == {cases[0].id}
        assert (
            len(session.exec(select(CaseEvidence).where(CaseEvidence.case_id == cases[0].id)).all())
            == senders
        )


class Hook(BaseHTTPRequestHandler):
    received: list = []
    fail_next = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        status = 500 if Hook.fail_next else 204
        Hook.fail_next = max(0, Hook.fail_next - 1)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(runtime):
    Hook.received, Hook.fail_next = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime.settings.webhook_url = f"http://127.0.0.1:{server.server_port}/hostguard"
    runtime.settings.webhook_secret = "s3cret-for-tests"
    yield Hook
    server.shutdown()


NOTIFY_JOBS = {"cases.notify", "cases.notify.webhook", "cases.notify.email"}


def _make_due(runtime):
    with runtime.session() as session:
        for job in session.exec(
            select(Job).where(col(Job.kind).in_(NOTIFY_JOBS), Job.status == "queued")
        ):
            job.run_at = utcnow()


def test_outbox_retries_a_failed_webhook_and_signs_it(runtime, notice, hook):
    import hostguard.cases.jobs  # noqa: F401  (registers the handler)

    n, _ = notice()
    hook.fail_next = 1
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    with Session(runtime.engine) as session:
        note = session.exec(select(Notification)).one()
        job = session.exec(select(Job).where(Job.kind == "cases.notify.webhook")).one()
        assert note.status == "pending" and job.status == "queued" and job.attempts == 1
        assert "500" in job.last_error
    _make_due(runtime)  # instead of waiting for the back-off
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    with Session(runtime.engine) as session:
        note = session.exec(select(Notification)).one()
        assert note.status == "sent" and note.channels == ["webhook"] and note.attempts == 2
    assert len(hook.received) == 2
    (h1, _), (h2, body) = hook.received
    assert (
        h1["X-Hostguard-Delivery"]
        == h2["X-Hostguard-Delivery"]
        == f"hostguard-notification-{note.id}"
    )
    timestamp = h2["X-Hostguard-Timestamp"]
    expected = hmac.new(
        b"s3cret-for-tests", f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(h2["X-Hostguard-Signature"], f"v1={expected}")
    payload = json.loads(body)
    assert payload["event"] == "notification"
    assert payload["data"]["notification"]["recipient"] == f"notice:{n.id}"
    assert "notifier@example.org" not in body.decode()  # contact details stay in hostguard


def test_a_webhook_url_removed_after_queueing_fails_the_delivery_with_a_reason(
    runtime, notice, hook
):
    """The notification was queued for the webhook; by the time it runs, the URL is gone."""
    notice()
    run_due(runtime.engine, runtime=runtime, kinds={"cases.notify"})  # queued for the webhook
    runtime.settings.webhook_url = None
    _make_due(runtime)
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    with Session(runtime.engine) as session:
        job = session.exec(select(Job).where(Job.kind == "cases.notify.webhook")).one()
        assert job.status == "queued" and job.attempts == 1
        assert "no webhook URL is configured" in job.last_error
    assert hook.received == []


def test_without_a_channel_the_message_stays_logged_in_the_outbox(runtime, notice):
    import hostguard.cases.jobs  # noqa: F401

    notice()
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    with Session(runtime.engine) as session:
        assert session.exec(select(Notification)).one().status == "logged"


class TinySMTP:
    """Just enough SMTP on 127.0.0.1 to receive one message per connection."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.messages: list[tuple[list[str], str]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as f:

                def say(line):
                    f.write(line.encode() + b"\r\n")
                    f.flush()

                say("220 tiny")
                rcpts, data = [], None
                while True:
                    line = f.readline().decode().rstrip("\r\n")
                    cmd = line[:4].upper()
                    if cmd in ("EHLO", "HELO"):
                        say("250 tiny")
                    elif cmd == "MAIL":
                        say("250 ok")
                    elif cmd == "RCPT":
                        rcpts.append(line.split(":", 1)[1].strip(" <>"))
                        say("250 ok")
                    elif cmd == "DATA":
                        say("354 go")
                        lines = []
                        while (chunk := f.readline().decode()) not in (".\r\n", ""):
                            lines.append(chunk)
                        data = "".join(lines)
                        self.messages.append((rcpts, data))
                        say("250 queued")
                    elif cmd == "QUIT" or not line:
                        say("221 bye")
                        break
                    else:
                        say("250 ok")

    def close(self):
        self.sock.close()


def test_receipt_goes_out_by_email_when_smtp_is_configured(runtime, notice):
    import hostguard.cases.jobs  # noqa: F401

    smtp = TinySMTP()
    runtime.settings.smtp_host, runtime.settings.smtp_port = "127.0.0.1", smtp.port
    try:
        n, _ = notice()
        run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    finally:
        smtp.close()
    ((rcpts, data),) = smtp.messages
    assert rcpts == ["notifier@example.org"]
    assert f"We received your notice {n.id}" in data
    with Session(runtime.engine) as session:
        note = session.exec(select(Notification)).one()
        assert note.status == "sent" and note.channels == ["email"]
    # the same Message-ID on every retry of this message, so a resend can be recognised
    assert f"Message-ID: <hostguard-notification-{note.id}@localhost>" in data


def test_a_failing_email_does_not_send_the_webhook_again(runtime, notice, hook):
    import socket

    import hostguard.cases.jobs  # noqa: F401

    closed = socket.socket()  # a port nothing listens on: every SMTP attempt fails
    closed.bind(("127.0.0.1", 0))
    runtime.settings.smtp_host, runtime.settings.smtp_port = "127.0.0.1", closed.getsockname()[1]
    closed.close()
    notice()
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    _make_due(runtime)
    run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    with Session(runtime.engine) as session:
        note = session.exec(select(Notification)).one()
        assert note.status == "pending" and note.channels == ["webhook"]
        email_job = session.exec(select(Job).where(Job.kind == "cases.notify.email")).one()
        assert email_job.status == "queued" and email_job.attempts == 2
    assert len(hook.received) == 1  # sent once, although e-mail failed twice
    smtp = TinySMTP()
    runtime.settings.smtp_port = smtp.port
    try:
        _make_due(runtime)
        run_due(runtime.engine, runtime=runtime, kinds=NOTIFY_JOBS)
    finally:
        smtp.close()
    with Session(runtime.engine) as session:
        note = session.exec(select(Notification)).one()
        assert note.status == "sent" and note.channels == ["webhook", "email"]
    assert len(hook.received) == 1 and len(smtp.messages) == 1
