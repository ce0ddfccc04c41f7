"""Decision events: the platform hears every decision and change of it from signed webhooks,
once each and in order per repository, even when its receiver is down for a while."""

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
from hostguard.platform.models import WebhookDelivery
from hostguard.platform.webhooks import verify_signature
from hostguard.workflows.decision_events import event_id
from tests.uploads.conftest import check_body

SECRET = "decision-events-secret"
TRAINING_DATA = {"id": "no-csam-training-data", "version": 1, "accepted": True}


class LateReceiver:
    """A platform endpoint on 127.0.0.1 that refuses connections until `start()`."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/hostguard"
        self.received: list[dict] = []
        self.server = None

    def start(self):
        @Request.application
        def app(request):
            body = request.get_data()
            assert verify_signature(
                SECRET,
                timestamp=request.headers["X-Hostguard-Timestamp"],
                body=body,
                signature=request.headers["X-Hostguard-Signature"],
            )
            self.received.append(json.loads(body))
            return Response("ok", status=200)

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()


@pytest.fixture
def late_receiver(runtime):
    receiver = LateReceiver()
    runtime.settings.webhook_url, runtime.settings.webhook_secret = receiver.url, SECRET
    yield receiver
    receiver.stop()


def _make_due(runtime):
    with runtime.session() as s:
        for job in s.exec(select(Job).where(Job.status == "queued")).all():
            job.run_at = utcnow() - timedelta(seconds=1)


def _check(client, operator, repo, revision="r" * 40):
    body = check_body(repo=repo, visibility="private", revision=revision)
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code == 200
    return response.get_json()


def _certify(client, operator, repo, revision="r" * 40):
    response = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": repo,
            "revision": revision,
            "signed_name": "Alice Example",
            "statements": [TRAINING_DATA],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def test_events_reach_a_receiver_that_was_down_once_each_in_order_per_repo(
    client, operator, runtime, late_receiver
):
    first = _check(client, operator, "alice/model")
    other = _check(client, operator, "alice/other")
    assert first["decision"] == other["decision"] == "hold"
    for _ in range(2):  # the receiver is down: attempts fail, later events wait their turn
        _make_due(runtime)
        run_due(runtime.engine, runtime=runtime)
    _certify(
        client, operator, "alice/model"
    )  # held -> allowed, with no new check from the platform
    _certify(client, operator, "alice/other")
    for _ in range(2):
        _make_due(runtime)
        run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        deliveries = s.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [d.event for d in deliveries] == [
            "upload.decision",
            "upload.decision",
            "upload.decision_changed",
            "upload.decision_changed",
        ]
        assert all(d.status == "pending" for d in deliveries)
        # only the first of each repository was tried; the changes waited behind them
        assert [d.attempts for d in deliveries] == [4, 4, 0, 0]

    read = client.get(f"/api/v1/uploads/checks/{first['check_id']}", headers=operator)
    assert read.status_code == 200
    assert read.get_json()["decision"] == "allow" and read.get_json()["sequence"] == 2

    late_receiver.start()
    for _ in range(4):
        _make_due(runtime)
        run_due(runtime.engine, runtime=runtime)

    got = late_receiver.received
    ids = [e["delivery_id"] for e in got]
    assert len(ids) == len(set(ids)) == 4  # every event once
    by_repo: dict[str, list[dict]] = {}
    for e in got:
        by_repo.setdefault(e["data"]["repo"]["id"], []).append(e)
    for repo, answer in (("alice/model", first), ("alice/other", other)):
        events = by_repo[repo]
        assert [e["event"] for e in events] == ["upload.decision", "upload.decision_changed"]
        assert [e["data"]["decision"] for e in events] == ["hold", "allow"]
        assert [e["data"]["sequence"] for e in events] == [1, 2]
        assert events[1]["data"]["previous_decision"] == "hold"
        assert events[0]["data"]["reasons"][0]["code"] == "certification_required"
        assert events[1]["data"]["reasons"] == []
        assert all(e["data"]["check_id"] == answer["check_id"] for e in events)
        assert all(e["data"]["revision"] == "r" * 40 for e in events)
        # stable ids: derived from the check and the decision's number
        assert [e["delivery_id"] for e in events] == [
            event_id(answer["check_id"], 1),
            event_id(answer["check_id"], 2),
        ]
        assert all(e["data"]["event_id"] == e["delivery_id"] for e in events)
    with runtime.session() as s:
        assert {d.status for d in s.exec(select(WebhookDelivery)).all()} == {"delivered"}


def test_a_retried_check_announces_nothing_new(client, operator, runtime, late_receiver):
    late_receiver.start()
    _check(client, operator, "alice/model")
    _check(client, operator, "alice/model")
    run_due(runtime.engine, runtime=runtime)
    assert [e["event"] for e in late_receiver.received] == ["upload.decision"]


def test_reading_a_check_that_does_not_exist_is_404(client, operator):
    response = client.get("/api/v1/uploads/checks/no-such-check", headers=operator)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "check_not_found"


def test_a_retroactive_csam_match_announces_block_and_quarantine(
    client, operator, runtime, late_receiver
):
    from hostguard.hashing.service import import_list, scan_images
    from tests.hashing.images import encode, make_image

    late_receiver.start()
    image = encode(make_image(77, (320, 240)), "PNG")
    body = check_body(visibility="private", images=[("samples/a.png", image)])
    assert client.post("/api/v1/uploads/check", json=body, headers=operator).status_code == 200
    _certify(client, operator, "alice/model")
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]
        import_list(
            session=s, actor="test", name="late", data=pdq + "\n", algorithm="pdq", category="csam"
        )
    run_due(runtime.engine, runtime=runtime)
    events = [
        (e["event"], e["data"]["decision"], e["data"]["measure"]) for e in late_receiver.received
    ]
    assert events == [
        ("upload.decision", "hold", None),
        ("upload.decision_changed", "allow", None),
        ("upload.decision_changed", "block", "quarantine"),
    ]
    last = late_receiver.received[-1]["data"]
    assert last["cause"] == "retroactive_match" and last["previous_decision"] == "allow"
    assert last["reasons"][-1]["code"] == "retroactive_match"
