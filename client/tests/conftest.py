"""Fixtures for the client's tests: a real hostguard server named by the environment.

The main suite's tests/client/test_client_alone.py installs this package alone in a fresh
virtual environment, starts hostguard on 127.0.0.1 with a worker, and runs these tests there
with HOSTGUARD_TEST_URL, HOSTGUARD_TEST_OPERATOR_KEY, HOSTGUARD_TEST_MODERATOR_KEY,
HOSTGUARD_TEST_WEBHOOK_SECRET and HOSTGUARD_TEST_WEBHOOK_PORT (where hostguard's webhooks go).
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hostguard_client import HostguardClient

NEEDED = (
    "HOSTGUARD_TEST_URL",
    "HOSTGUARD_TEST_OPERATOR_KEY",
    "HOSTGUARD_TEST_MODERATOR_KEY",
    "HOSTGUARD_TEST_WEBHOOK_SECRET",
    "HOSTGUARD_TEST_WEBHOOK_PORT",
)


@dataclass(frozen=True)
class Server:
    url: str
    operator_key: str
    moderator_key: str
    webhook_secret: str
    webhook_port: int


@pytest.fixture(scope="session")
def server() -> Server:
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: these tests run against a real hostguard; run them "
            "through the main suite's tests/client/test_client_alone.py"
        )
    env = os.environ
    return Server(
        url=env["HOSTGUARD_TEST_URL"],
        operator_key=env["HOSTGUARD_TEST_OPERATOR_KEY"],
        moderator_key=env["HOSTGUARD_TEST_MODERATOR_KEY"],
        webhook_secret=env["HOSTGUARD_TEST_WEBHOOK_SECRET"],
        webhook_port=int(env["HOSTGUARD_TEST_WEBHOOK_PORT"]),
    )


@pytest.fixture
def hg(server):
    with HostguardClient(server.url, api_key=server.operator_key, backoff=0.05) as client:
        yield client


@pytest.fixture
def moderator(server):
    with HostguardClient(server.url, api_key=server.moderator_key, backoff=0.05) as client:
        yield client


@pytest.fixture
def names():
    """Fresh uploader and repository ids, so tests sharing one server do not meet."""
    tag = uuid.uuid4().hex[:8]
    return {"uploader": f"u-{tag}", "repo": f"client-tests/model-{tag}", "revision": "c" * 40}


def png(width: int = 64, height: int = 64, seed: int = 1) -> bytes:
    """A small textured RGB PNG, written with the standard library (no Pillow here)."""
    rows = b"".join(
        b"\x00"
        + bytes(
            ((x * 7 + y * 13 + seed * 31) ^ (x * y)) & 0xFF for x in range(width) for _ in range(3)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Receiver:
    """The platform's webhook endpoint: records every POST (headers, raw body) and answers 200."""

    def __init__(self, port: int):
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, *, timeout: float = 30.0):
        """The first delivery (headers, body) for which predicate(headers, body) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for headers, body in list(self.received):
                if predicate(headers, body):
                    return headers, body
            time.sleep(0.1)
        raise AssertionError(
            f"no matching webhook within {timeout} s; received: "
            f"{[h.get('X-Hostguard-Event') for h, _ in self.received]}"
        )


@pytest.fixture(scope="session", autouse=True)
def receiver(server):
    """Listening from the first test on, so every webhook hostguard sends lands at once."""
    r = Receiver(server.webhook_port)
    yield r
    r.server.shutdown()
    r.server.server_close()


def statements_for(step) -> list[dict]:
    """Every statement a certification step asks for, accepted, its fields filled as a person would."""
    out = []
    for statement in step.statements:
        fields: dict = {}
        for spec in statement.get("fields", []):
            if spec.get("type") == "select":
                fields[spec["name"]] = spec["options"][0]
            elif spec.get("type") == "checkbox":
                fields[spec["name"]] = True
            elif not spec.get("required_if"):
                fields[spec["name"]] = "a short answer"
        out.append(
            {
                "id": statement["id"],
                "version": statement["version"],
                "accepted": True,
                "fields": fields,
            }
        )
    return out
