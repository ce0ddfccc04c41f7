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


class FakeNCMEC(FakeServer):
    """NCMEC's hash sharing API (v2): GET /v2/entries?from=&to= in XML, paged with `next`
    (start, size, max), HTTP basic auth, and PUT /v2/entries/ESP/ID/PDQ/feedback with
    GET /v2/feedback/PDQ/reasons for a downvote's reason."""

    USER = "ncmec-user"
    PASSWORD = "ncmec-password-9999-secret"
    NS = "https://hashsharing.ncmec.org/hashsharing/v2"
    DATE = "%Y-%m-%dT%H:%M:%SZ"

    def __init__(self, page_size: int = 1000) -> None:
        super().__init__()
        self.page_size = page_size
        self.entries: dict[str, dict] = {}  # id -> {ts, member, pdq, deleted, classification}
        self.feedback: list[tuple[str, bytes]] = []

    @property
    def url(self) -> str:
        return self.root

    def put(self, entry_id: str, pdq: str | None, ts: int, member: int = 42, deleted: bool = False):
        self.entries[entry_id] = {
            "ts": ts,
            "member": member,
            "pdq": pdq,
            "deleted": deleted,
            "classification": "A1",
        }

    def _when(self, text: str) -> int:
        from datetime import datetime

        return int(datetime.strptime(text, self.DATE).timestamp())

    def _xml(self, rows: list[tuple[str, dict]], next_: str | None) -> bytes:
        from datetime import datetime
        from xml.sax.saxutils import escape

        parts = [f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{self.NS}">']
        if rows:
            newest = max(e["ts"] for _, e in rows)
            stamp = datetime.fromtimestamp(newest).strftime(self.DATE)
            parts.append(f'<images count="{len(rows)}" maxTimestamp="{stamp}">')
            for entry_id, e in rows:
                tag = "deletedImage" if e["deleted"] else "image"
                inner = f'<member id="{e["member"]}">Some ESP</member><id>{entry_id}</id>'
                if not e["deleted"]:
                    inner += f"<classification>{e['classification']}</classification>"
                    inner += f"<fingerprints><pdq>{e['pdq']}</pdq></fingerprints>"
                parts.append(f"<{tag}>{inner}</{tag}>")
            parts.append("</images>")
        if next_:
            parts.append(f"<paging><next>{escape(next_)}</next></paging>")
        parts.append("</queryResult>")
        return "".join(parts).encode()

    def handle(self, method, path, headers, body):
        import base64

        expected = "Basic " + base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, "text/plain", b"unauthorized"
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if method == "GET" and url.path == "/v2/entries":
            start, end = self._when(query["from"]), self._when(query["to"])
            rows = sorted(
                ((i, e) for i, e in self.entries.items() if start <= e["ts"] <= end),
                key=lambda item: item[0],
            )
            offset = int(query.get("start", 0))
            page = rows[offset : offset + self.page_size]
            self.hold(offset // self.page_size + 1)
            next_ = None
            if offset + self.page_size < len(rows):
                next_ = (
                    f"/v2/entries?from={query['from']}&to={query['to']}"
                    f"&start={offset + self.page_size}&size={self.page_size}&max={len(rows)}"
                )
            return 200, "application/xml", self._xml(page, next_)
        if method == "GET" and url.path == "/v2/feedback/PDQ/reasons":
            xml = (
                f'<?xml version="1.0"?><feedbackReasonsResult xmlns="{self.NS}">'
                '<availableFeedbackReasons><reason guid="r-1" name="Not CSAM"/>'
                "</availableFeedbackReasons></feedbackReasonsResult>"
            )
            return 200, "application/xml", xml.encode()
        if (
            method == "PUT"
            and url.path.startswith("/v2/entries/")
            and url.path.endswith("/feedback")
        ):
            with self.lock:
                self.feedback.append((url.path, body))
            return 200, "application/xml", b"<ok/>"
        return 404, "text/plain", b"not found"
