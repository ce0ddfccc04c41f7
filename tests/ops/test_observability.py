"""/metrics, process roles and JSON request logs without personal data."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import timedelta

import pytest
from PIL import Image

from hostguard.instruments import record_decision
from hostguard.jobs.service import enqueue
from hostguard.ops.logging import JsonFormatter


def png_bytes(seed: int = 1) -> bytes:
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_metrics_reports_requests_queue_and_cases(client, runtime):
    from hostguard.cases.models import Case
    from hostguard.db.types import utcnow
    from hostguard.platform.service import get_or_create_repo, get_or_create_uploader

    with runtime.session() as s:
        enqueue(s, "notify.test", {})
        uploader = get_or_create_uploader(s, platform_id="u-1", username="u1")
        repo = get_or_create_repo(s, repo_id="u1/model", repo_type="model", uploader=uploader)
        s.add(
            Case(
                repo_pk=repo.id,
                category="other",
                source="notice",
                deadline_at=utcnow() - timedelta(hours=1),
            )
        )
    from hostguard.hashing.service import import_list

    with runtime.session() as s:
        import_list(
            session=s,
            actor="test",
            name="partner",
            algorithm="pdq",
            data=("\n".join(f"{n:064x}" for n in range(1, 4)) + "\n").encode(),
        )
    assert client.get("/healthz").status_code == 200
    record_decision("upload_check", "blocked")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert (
        'hostguard_http_request_duration_seconds_count{endpoint="/healthz",method="GET",status="200"}'
        in text
    )
    assert 'hostguard_jobs{kind="notify.test",status="queued"} 1.0' in text
    assert "hostguard_outbox_backlog 2.0" in text  # notify.test and the import's re-matching job
    assert "hostguard_cases_overdue 1.0" in text
    assert "hostguard_cases_open 1.0" in text
    assert 'hostguard_decisions_total{check="upload_check",outcome="blocked"}' in text
    assert "hostguard_database_up 1.0" in text
    assert 'hostguard_hashlist_entries{algorithm="pdq",list="partner"} 3.0' in text


def test_metrics_can_require_a_token(runtime, monkeypatch):
    from hostguard.web import create_app

    monkeypatch.setattr(runtime.settings, "metrics_token", "t" * 40)
    client = create_app(runtime=runtime).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer " + "t" * 40}).status_code == 200
    )


def _app_with_roles(runtime, monkeypatch, roles: str):
    from hostguard.web import create_app

    monkeypatch.setattr(runtime.settings, "roles", roles)
    return create_app(runtime=runtime).test_client()


def test_api_only_process_refuses_matching(runtime, monkeypatch, api_headers):
    client = _app_with_roles(runtime, monkeypatch, "api")
    response = client.post("/api/v1/uploads/check", json={}, headers=api_headers("operator"))
    assert response.status_code == 503
    assert "matcher" in response.get_json()["error"]["message"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/console/login").status_code == 200


def test_matcher_only_process_serves_only_matching(runtime, monkeypatch, api_headers):
    client = _app_with_roles(runtime, monkeypatch, "matcher")
    assert client.get("/console/login").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 404
    response = client.post("/api/v1/uploads/check", json={}, headers=api_headers("operator"))
    assert response.status_code == 422  # reached the check itself: the body is incomplete
    assert client.get("/metrics").status_code == 200


def test_unknown_role_is_a_configuration_error(runtime, monkeypatch):
    from hostguard.config import ConfigError

    with pytest.raises(ConfigError, match="unknown role"):
        _app_with_roles(runtime, monkeypatch, "api,matchr")


@pytest.fixture
def json_log():
    """Everything logged during the test, formatted as the production JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


PERSONAL = [
    "zelda.quux@example.org",
    "Zelda Quux-Personal",
    "17 Secretlane",
    "1984-02-29",
    "203.0.113.77",
    "ZeldaBrowser/1.0",
    "zq-username",
]


def test_request_logs_carry_request_ids_and_no_personal_data(
    client, runtime, api_headers, json_log, csrf_token
):
    from hostguard.platform.service import get_or_create_uploader

    with runtime.session() as s:
        get_or_create_uploader(
            s,
            platform_id="zq-1",
            username="zq-username",
            email="zelda.quux@example.org",
            keys=runtime.keys,
        )
    headers = {
        **api_headers("operator"),
        "X-Forwarded-For": "203.0.113.77",
        "User-Agent": "ZeldaBrowser/1.0",
    }
    responses = [
        client.post(
            "/api/v1/uploaders/zq-1/kyu",
            headers=headers,
            data={
                "legal_name": "Zelda Quux-Personal",
                "address": "17 Secretlane",
                "country": "DE",
                "date_of_birth": "1984-02-29",
                "id_document": (io.BytesIO(png_bytes()), "passport.png"),
            },
        ),
        client.post(
            "/api/v1/uploads/check",
            headers=headers,
            json={
                "uploader": {
                    "id": "zq-1",
                    "username": "zq-username",
                    "email": "zelda.quux@example.org",
                },
                "repo": {"id": "zq-username/model", "revision": "abc123"},
                "sample_images": [
                    {"path": "a.png", "content_base64": base64.b64encode(png_bytes(2)).decode()}
                ],
            },
        ),
        client.post(
            "/api/v1/uploads/check",
            headers=headers,  # a validation error echoing input
            json={"uploader": {"email": "zelda.quux@example.org"}},
        ),
        client.get("/console/login?email=zelda.quux@example.org", headers=headers),
        client.post(
            "/console/login",
            headers=headers,
            data={
                "email": "zelda.quux@example.org",
                "password": "Zelda Quux-Personal",
                "csrf_token": csrf_token(client, "/console/login"),
            },
        ),
    ]
    assert [r.status_code != 500 for r in responses] == [True] * len(responses), [
        r.get_data(as_text=True)[:300] for r in responses
    ]
    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line["message"] == "request"]
    assert {r.headers["X-Request-ID"] for r in responses} <= {
        line["request_id"] for line in request_lines
    }
    assert {line["route"] for line in request_lines} >= {
        "/api/v1/uploaders/<uploader_id>/kyu",
        "/api/v1/uploads/check",
        "/console/login",
    }
    for marker in PERSONAL:
        assert marker.lower() not in output.lower(), f"{marker!r} was logged"


def test_scan_answers_are_counted_as_decisions(client, api_headers):
    headers = api_headers("operator")
    response = client.post(
        "/api/v1/scan", headers=headers, data={"images": (io.BytesIO(png_bytes(5)), "a.png")}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    text = client.get("/metrics").get_data(as_text=True)
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith('hostguard_decisions_total{check="scan",outcome="no_match"}')
    )
    assert float(line.split()[-1]) >= 1


def _sample(name: str, labels: dict) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_matching_latency_is_exported_after_a_scan(client, runtime, api_headers):
    from hostguard.hashing.service import import_list

    with runtime.session() as s:
        import_list(
            session=s,
            actor="test",
            name="partner",
            algorithm="pdq",
            data=("\n".join(f"{n:064x}" for n in range(1, 4)) + "\n").encode(),
        )
    labels = {"algorithm": "pdq"}
    before = _sample("hostguard_matching_duration_seconds_count", labels)
    response = client.post(
        "/api/v1/scan",
        headers=api_headers("operator"),
        data={"images": (io.BytesIO(png_bytes(6)), "a.png")},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _sample("hostguard_matching_duration_seconds_count", labels) == before + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hostguard_matching_duration_seconds_bucket{algorithm="pdq",le="0.001"}' in text
    count = next(
        ln
        for ln in text.splitlines()
        if ln.startswith('hostguard_matching_duration_seconds_count{algorithm="pdq"}')
    )
    assert float(count.split()[-1]) == before + 1


CHILD = """
import os, sys
os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
from hostguard.instruments import observe_matching, record_decision
record_decision("moderation", "take_down")
observe_matching(0.002, algorithm="pdq")
"""


def test_counters_add_up_across_processes_in_multiprocess_mode(runtime, tmp_path, monkeypatch):
    """What gunicorn's workers do with PROMETHEUS_MULTIPROC_DIR: each writes, /metrics sums them."""
    import subprocess
    import sys

    from hostguard.instruments import _instruments
    from hostguard.ops.metrics import render
    from tests.ops.helpers import ROOT

    _instruments()  # this test process keeps its own in-memory values
    directory = tmp_path / "prometheus"
    directory.mkdir()
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", CHILD, str(directory)],
            check=True,
            cwd=ROOT,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        )
    assert len(list(directory.glob("*.db"))) >= 2, "each process wrote its own file"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    text = render(runtime)[0].decode()
    assert 'hostguard_decisions_total{check="moderation",outcome="take_down"} 2.0' in text
    assert 'hostguard_matching_duration_seconds_count{algorithm="pdq"} 2.0' in text
    assert "hostguard_database_up 1.0" in text
