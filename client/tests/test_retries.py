"""Retries and idempotency: a flaky path in front of the real hostguard (429, 503, broken connections)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from hostguard_client import (
    ConnectionFailed,
    HostguardClient,
    ServerError,
    ServiceUnavailable,
    ValidationFailed,
)

FILES = [{"path": "model.safetensors", "size": 10, "sha256": "b" * 64}]


class FlakyPath:
    """A 127.0.0.1 proxy to hostguard that misbehaves as scripted, then passes requests on.

    Script entries: "429:<seconds>", "502" and "503" answer that status (with Retry-After if
    seconds are given);
    "forward-then-drop" passes the request to hostguard, then closes the connection without
    the answer (the case a retry must be safe for); anything left over is forwarded.
    """

    def __init__(self, upstream: str, script: list[str]):
        self.script = list(script)
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append(f"{self.command} {self.path}")
                step = proxy.script.pop(0) if proxy.script else "forward"
                if step.startswith(("429", "502", "503")):
                    status, _, wait = step.partition(":")
                    payload = b'{"error": {"code": "busy", "message": "try again"}}'
                    self.send_response(int(status))
                    if wait:
                        self.send_header("Retry-After", wait)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                answer = httpx.request(
                    self.command, upstream + self.path, content=body, headers=headers
                )
                if step == "forward-then-drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Retry-After"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def flaky(server):
    made = []

    def make(*script: str) -> FlakyPath:
        made.append(FlakyPath(server.url, list(script)))
        return made[-1]

    yield make
    for proxy in made:
        proxy.server.shutdown()
        proxy.server.server_close()


def client_for(url: str, key: str, sleeps: list[float], **kw) -> HostguardClient:
    return HostguardClient(url, api_key=key, backoff=0.01, sleep=sleeps.append, **kw)


def test_429_and_503_are_retried_honouring_retry_after(flaky, server, names):
    path = flaky("429:3", "503", "forward")
    sleeps: list[float] = []
    with client_for(path.url, server.operator_key, sleeps) as hg:
        result = hg.check_upload(
            uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
        )
    assert result.held and len(path.seen) == 3
    assert sleeps[0] == 3.0  # the server's Retry-After, not the client's own backoff
    assert 0 < sleeps[1] < 1


def test_a_503_that_lasts_ends_in_a_typed_error_after_the_retries(flaky, server, names):
    path = flaky(*["503"] * 10)
    sleeps: list[float] = []
    with client_for(path.url, server.operator_key, sleeps, max_retries=2) as hg:
        with pytest.raises(ServiceUnavailable) as failed:
            hg.get_uploader(names["uploader"])
    assert failed.value.code == "busy" and len(path.seen) == 3 and len(sleeps) == 2


def test_an_unreachable_server_is_retried_then_reported(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    sleeps: list[float] = []
    with client_for(f"http://127.0.0.1:{port}", server.operator_key, sleeps, max_retries=3) as hg:
        with pytest.raises(ConnectionFailed) as failed:
            hg.get_uploader("anyone")
    assert len(sleeps) == 3 and f"127.0.0.1:{port}" in str(failed.value)


def test_a_lost_answer_to_the_upload_check_is_asked_again_and_is_the_same_check(
    flaky, server, hg, names
):
    ids = dict(uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"])
    path = flaky("forward-then-drop", "forward")
    with client_for(path.url, server.operator_key, []) as flaky_hg:
        retried = flaky_hg.check_upload(**ids, files=FILES)
    assert path.seen == ["POST /api/v1/uploads/check"] * 2  # hostguard saw the check twice
    direct = hg.check_upload(**ids, files=FILES)
    assert retried.check_id == direct.check_id  # ... and made one check of it


def test_a_lost_answer_to_a_notice_is_not_sent_again(flaky, server, names):
    path = flaky("forward-then-drop")
    with client_for(path.url, server.operator_key, []) as hg:
        with pytest.raises(ConnectionFailed) as failed:
            hg.submit_notice(
                items=[names["repo"]],
                category="hate",
                explanation="Generates hateful imagery.",
                notifier_name="Nora",
                notifier_email="nora@example.org",
            )
    assert path.seen == ["POST /api/v1/notices"] and "not sent again" in str(failed.value)


def test_a_gateway_error_is_retried_for_the_check_but_not_for_a_notice(flaky, server, names):
    path = flaky("502", "forward")
    with client_for(path.url, server.operator_key, []) as hg:
        assert hg.check_upload(
            uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
        ).held
    assert len(path.seen) == 2
    path = flaky("502")
    with client_for(path.url, server.operator_key, []) as hg:
        with pytest.raises(ServerError) as failed:
            hg.submit_notice(
                items=[names["repo"]],
                category="hate",
                explanation="Generates hateful imagery.",
                notifier_name="Nora",
                notifier_email="nora@example.org",
            )
    assert failed.value.status_code == 502 and len(path.seen) == 1


def test_an_invalid_request_is_not_retried(flaky, server, names):
    path = flaky()
    sleeps: list[float] = []
    with client_for(path.url, server.operator_key, sleeps) as hg:
        with pytest.raises(ValidationFailed):
            hg.check_upload(uploader_id=names["uploader"], repo_id="x", revision="r")
    assert len(path.seen) == 1 and sleeps == []
