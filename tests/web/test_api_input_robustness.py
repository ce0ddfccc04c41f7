"""The API's answers to hostile input: deep JSON, control characters, huge numbers, long URLs, 405s."""

from __future__ import annotations

import http.client
import json

import pytest

from hostguard.web.api.openapi import build_document
from tests.ops.helpers import free_port, process_env, start, stop, wait_for
from tests.uploads.conftest import check_body

DEEP = "[" * 100_000


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


def error_of(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    if code is not None:
        assert error["code"] == code
    return error


def test_deeply_nested_json_body_answers_400_not_500(client, operator):
    response = client.post(
        "/api/v1/uploads/check", data=DEEP, headers=operator, content_type="application/json"
    )
    error = error_of(response, 400, "malformed_json")
    assert "nested too deeply" in error["message"]


def test_deeply_nested_multipart_check_part_answers_400(client, operator):
    response = client.post(
        "/api/v1/uploads/check",
        data={"check": DEEP},
        headers=operator,
        content_type="multipart/form-data",
    )
    error = error_of(response, 400, "malformed_json")
    assert "nested too deeply" in error["message"]


def test_deeply_nested_hub_webhook_body_answers_400(client, runtime):
    runtime.settings.hf_webhook_secret = "s3cret"
    response = client.post(
        "/hooks/huggingface",
        data=DEEP,
        headers={"X-Webhook-Secret": "s3cret"},
        content_type="application/json",
    )
    error = error_of(response, 400, "malformed_json")
    assert "nested too deeply" in error["message"]


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (lambda b: b["uploader"].__setitem__("id", "u\x00-1"), "uploader.id"),
        (lambda b: b["uploader"].__setitem__("id", "u\n1"), "uploader.id"),
        (lambda b: b["repo"].__setitem__("id", "alice/mo\x00del"), "repo.id"),
        (lambda b: b["repo"].__setitem__("revision", "r\x07" * 20), "repo.revision"),
        (lambda b: b["files"][0].__setitem__("path", "a\x00.bin"), "files.0.path"),
    ],
)
def test_control_characters_in_ids_and_paths_answer_422_naming_the_field(
    client, operator, where, field
):
    body = check_body()
    where(body)
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    error = error_of(response, 422, "invalid_input")
    assert field in error["message"]
    assert any(f["field"] == field for f in error["details"]["fields"])


@pytest.mark.parametrize("size", [10**40, 2**63, -1])
def test_file_size_out_of_range_answers_422(client, operator, size):
    body = check_body(files=[{"path": "model.safetensors", "size": size}])
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    error = error_of(response, 422, "invalid_input")
    assert "files.0.size" in error["message"]


def test_largest_file_size_is_accepted(client, operator):
    body = check_body(files=[{"path": "model.safetensors", "size": 2**63 - 1}])
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_too_long_api_url_answers_json_414(client, operator):
    response = client.get("/api/v1/uploaders/" + "x" * 5000, headers=operator)
    error = error_of(response, 414, "uri_too_long")
    assert "too long" in error["message"]


def answers_healthz(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


def test_a_served_api_answers_json_414_for_a_url_gunicorn_still_reads(runtime, tmp_path):
    port = free_port()
    env = process_env(runtime, HOSTGUARD_ROLES="api")
    server = start(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "1"],
        env,
        tmp_path / "serve.log",
    )
    try:
        wait_for(lambda: answers_healthz(port), timeout=60, what="the server")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        # "GET " + URL + " HTTP/1.1" stays under gunicorn's limit_request_line (4094 bytes)
        conn.request("GET", "/api/v1/uploaders/" + "x" * 4050)
        response = conn.getresponse()
        assert response.status == 414
        assert response.getheader("Content-Type", "").startswith("application/json")
        assert json.loads(response.read())["error"]["code"] == "uri_too_long"
    finally:
        assert stop(server) == 0


def test_405_carries_allow_header(client, operator):
    response = client.get("/api/v1/uploads/check", headers=operator)
    error_of(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert "GET" not in {m.strip() for m in response.headers["Allow"].split(",")}


def test_openapi_says_what_the_checks_accept(app):
    document = build_document(app)
    schemas = document["components"]["schemas"]
    uploader = schemas["UploaderIn"]["properties"]
    assert uploader["id"]["minLength"] == 1 and "pattern" in uploader["id"]
    size = schemas["FileIn"]["properties"]["size"]
    assert size["minimum"] == 0 and size["maximum"] == 2**63 - 1
    hub = document["paths"]["/hooks/huggingface"]["post"]["responses"]
    assert "503" in hub
