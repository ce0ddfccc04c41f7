"""Fake exchange servers on 127.0.0.1, speaking what python-threatexchange's clients send and expect.

Each keeps its records in memory, checks the auth headers the real client sends, pages its
answers, and can be told to answer 500 or 429 for a while or to hold a request until released
(to kill a fetch mid-way). Served by the standard library's threading HTTP server.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Faults:
    """What the server does to the next requests: answer these statuses first, or hold one."""

    statuses: list[int] = field(default_factory=list)
    hold_page: int | None = None  # the page number (1-based) whose request waits
    held: threading.Event = field(default_factory=threading.Event)  # set when it is waiting
    release: threading.Event = field(default_factory=threading.Event)


class FakeServer:
    """Start with `with FakeX() as server:`; `server.url` is its base URL."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.requests.append((method, self.path, dict(self.headers.items())))
                    status = outer.faults.statuses.pop(0) if outer.faults.statuses else None
                if status is not None:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                code, content_type, payload = outer.handle(method, self.path, self.headers, body)
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PUT(self) -> None:
                self._answer("PUT")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client killed mid-request (the kill test) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.faults.release.set()
        self.server.shutdown()
        self.server.server_close()

    def hold(self, page: int) -> None:
        if self.faults.hold_page == page:
            self.faults.held.set()
            self.faults.release.wait(60)

    def handle(self, method, path, headers, body) -> tuple[int, str, bytes]:
        raise NotImplementedError


class FakeFileServer(FakeServer):
    """Serves one hash file at /list.txt; `content` can change between fetches."""

    def __init__(self, content: str = "") -> None:
        super().__init__()
        self.content = content

    @property
    def url(self) -> str:
        return f"{self.root}/list.txt"

    def handle(self, method, path, headers, body):
        if urlparse(path).path != "/list.txt":
            return 404, "text/plain", b"not found"
        return 200, "text/plain", self.content.encode()


class FakeStopNCII(FakeServer):
    """StopNCII's hash API: GET /v1/FetchHashes (paged), POST /v1/SubmitFeedback.

    Records are (timestamp, signalType, hashValue, hashStatus); a page holds `page_size`
    records from `startTimestamp` on, in time order; `nextSetTimestamp` is the last record's
    time (a record at that time is sent again, which the client must take as the same record).
    """

    SUBSCRIPTION = "sub-key-4711-secret"
    FETCH = "fetch-key-0815-secret"
    FEEDBACK = "feedback-key-1234-secret"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.records: list[dict] = []
        self.feedback: list[dict] = []
        self.clock = 1_700_000_000

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def put(self, hash_value: str, status: str = "Active", signal: str = "ImagePDQ") -> None:
        """Add or change a record (its time moves on, as the real list's does)."""
        self.clock += 10
        self.records = [r for r in self.records if r["hashValue"] != hash_value]
        self.records.append(
            {
                "lastModtimestamp": self.clock,
                "signalType": signal,
                "hashValue": hash_value,
                "hashStatus": status,
                "caseNumbers": {},
                "CSPFeedbacks": [],
            }
        )

    def handle(self, method, path, headers, body):
        url = urlparse(path)
        if headers.get("Ocp-Apim-Subscription-Key") != self.SUBSCRIPTION:
            return 401, "application/json", b'{"message": "bad subscription key"}'
        if method == "GET" and url.path == "/v1/FetchHashes":
            if headers.get("x-functions-key") != self.FETCH:
                return 401, "application/json", b'{"message": "bad function key"}'
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            start = int(query.get("startTimestamp", 0))
            offset = int(query.get("nextPageToken") or 0)
            matching = sorted(
                (r for r in self.records if r["lastModtimestamp"] >= start),
                key=lambda r: r["lastModtimestamp"],
            )
            page = matching[offset : offset + self.page_size]
            self.hold(offset // self.page_size + 1)
            more = offset + self.page_size < len(matching)
            answer = {
                "count": len(page),
                "nextPageToken": str(offset + self.page_size) if more else None,
                "nextSetTimestamp": page[-1]["lastModtimestamp"] if page else start,
                "hasMoreRecords": more,
                "hashRecords": page,
            }
            return 200, "application/json", json.dumps(answer).encode()
        if method == "POST" and url.path == "/v1/SubmitFeedback":
            if headers.get("x-functions-key") != self.FEEDBACK:
                return 401, "application/json", b'{"message": "bad function key"}'
            with self.lock:
                self.feedback.append(json.loads(body))
            return 200, "application/json", b"{}"
        return 404, "application/json", b"{}"
