"""Webhook endpoints: several receivers, each with its own secret and event types, each
delivered to on its own (a receiver that is down holds up no other), beside HOSTGUARD_WEBHOOK_URL."""

from __future__ import annotations

import json
import socket
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
from hostguard.platform.models import WebhookDelivery, WebhookEndpoint
from hostguard.platform.webhooks import verify_signature
from tests.conftest import extract_csrf
from tests.uploads.conftest import check_body

TRAINING_DATA = {"id": "no-csam-training-data", "version": 1, "accepted": True}


class Receiver:
    """A platform endpoint on 127.0.0.1 that refuses connections until `start()`; it checks
    every signature with the secret it was given."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.secret = ""
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.server = None

    def start(self):
        @Request.application
        def app(request):
            body = request.get_data()
            if not verify_signature(
                self.secret,
                timestamp=request.headers["X-Hostguard-Timestamp"],
                body=body,
                signature=request.headers["X-Hostguard-Signature"],
            ):
                return Response("bad signature", status=401)
            self.received.append(json.loads(body))
            self.headers.append(dict(request.headers))
            return Response("ok", status=200)

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()


@pytest.fixture
def receivers():
    made = [Receiver() for _ in range(3)]
    yield made
    for receiver in made:
        receiver.stop()


def _drain(runtime, rounds=3):
    for _ in range(rounds):
        with runtime.session() as s:
            for job in s.exec(select(Job).where(Job.status == "queued")).all():
                job.run_at = utcnow() - timedelta(seconds=1)
        run_due(runtime.engine, runtime=runtime)


def test_each_endpoint_gets_its_events_on_its_own_with_its_own_secret(
    client, operator, runtime, cli, receivers
):
    legacy, filtered, down = receivers
    runtime.settings.webhook_url, runtime.settings.webhook_secret = legacy.url, "legacy-secret"
    legacy.secret = "legacy-secret"
    added = cli("webhook", "add", "decisions", filtered.url, "--event", "upload.decision")
    assert added.exit_code == 0, added.output
    filtered.secret = added.stdout.strip().splitlines()[-1]
    added = cli("webhook", "add", "all-uploads", down.url, "--event", "upload.*")
    down.secret = added.stdout.strip().splitlines()[-1]
    assert filtered.secret.startswith("whsec_") and filtered.secret != down.secret
    with runtime.session() as s:  # stored encrypted only
        stored = [e.secret_enc for e in s.exec(select(WebhookEndpoint)).all()]
        assert all(
            filtered.secret.encode() not in b and down.secret.encode() not in b for b in stored
        )
    legacy.start()
    filtered.start()

    body = check_body(visibility="private")
    check = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert check["decision"] == "hold"
    certified = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "signed_name": "Alice Example",
            "statements": [TRAINING_DATA],
        },
    )
    assert certified.status_code == 201
    _drain(runtime)
    # the endpoint that is down holds up neither the legacy URL nor the other endpoint
    assert [e["event"] for e in legacy.received] == ["upload.decision", "upload.decision_changed"]
    assert [e["event"] for e in filtered.received] == ["upload.decision"]  # its filter
    assert down.received == []
    down.start()
    _drain(runtime, rounds=4)
    assert [e["event"] for e in down.received] == ["upload.decision", "upload.decision_changed"]
    assert [e["data"]["sequence"] for e in down.received] == [1, 2]  # in order per repo
    # one event, one id everywhere; one delivery id per endpoint
    assert [e["event_id"] for e in down.received] == [e["event_id"] for e in legacy.received]
    assert filtered.received[0]["event_id"] == legacy.received[0]["event_id"]
    assert legacy.received[0]["delivery_id"] == legacy.received[0]["event_id"]  # as before
    assert down.received[0]["delivery_id"] != legacy.received[0]["delivery_id"]
    assert down.headers[0]["X-Hostguard-Event-Id"] == down.received[0]["event_id"]
    _drain(runtime)
    assert len(down.received) == 2 and len(legacy.received) == 2  # each once

    listed = cli("webhook", "list")
    assert "decisions" in listed.output and "all-uploads" in listed.output
    assert filtered.secret not in listed.output
    removed = cli("webhook", "remove", "decisions")
    assert removed.exit_code == 0
    assert "decisions" not in cli("webhook", "list").output


def test_the_api_adds_lists_and_removes_endpoints(client, operator, api_headers):
    url = "/api/v1/webhook-endpoints"
    added = client.post(
        url, headers=operator, json={"name": "platform", "url": "https://p.example/h", "events": []}
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.get_json()["secret"].startswith("whsec_")
    again = client.post(
        url, headers=operator, json={"name": "platform", "url": "https://p.example/x"}
    )
    assert again.status_code == 409
    bad = client.post(url, headers=operator, json={"name": "x", "url": "ftp://p.example"})
    assert bad.status_code in (400, 422)
    listed = client.get(url, headers=operator).get_json()["endpoints"]
    assert [e["name"] for e in listed] == ["platform"] and "secret" not in listed[0]
    assert client.get(url, headers=api_headers("authority")).status_code == 403
    assert client.delete(f"{url}/platform", headers=operator).status_code == 200
    assert client.delete(f"{url}/platform", headers=operator).status_code == 404
    assert client.get(url, headers=operator).get_json()["endpoints"] == []


def test_an_admin_adds_and_removes_an_endpoint_in_the_console(client, login, runtime):
    login(client, "admin")
    page = client.get("/console/admin/webhooks")
    assert page.status_code == 200
    answer = client.post(
        "/console/admin/webhooks",
        data={
            "csrf_token": extract_csrf(page.get_data(as_text=True)),
            "name": "platform",
            "url": "https://platform.example/hooks",
            "events": "upload.decision upload.decision_changed",
        },
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, html
    assert 'id="endpoint-secret">whsec_' in html
    assert "upload.decision, upload.decision_changed" in html
    with runtime.session() as s:
        endpoint = s.exec(select(WebhookEndpoint)).one()
    removed = client.post(
        f"/console/admin/webhooks/{endpoint.id}/remove",
        data={"csrf_token": extract_csrf(html)},
    )
    assert removed.status_code == 303
    assert "No webhook endpoints yet" in client.get("/console/admin/webhooks").get_data(
        as_text=True
    )


def test_a_removed_endpoint_gives_up_its_pending_deliveries(client, operator, runtime, cli):
    added = cli("webhook", "add", "gone", "http://127.0.0.1:9/never")
    assert added.exit_code == 0
    client.post("/api/v1/uploads/check", json=check_body(), headers=operator)
    cli("webhook", "remove", "gone")
    with runtime.session() as s:
        statuses = {d.status for d in s.exec(select(WebhookDelivery)).all()}
    assert statuses == {"failed"}
