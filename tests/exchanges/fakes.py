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
    # hold the answer to the next feedback call after taking the feedback (an answer lost
    # on its way: the caller killed before it hears that the exchange accepted)
    hold_feedback: bool = False
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

    Feedback is kept as python-threatexchange models it: a record's `CSPFeedbacks` hold one
    feedback per platform (`source`, the name StopNCII knows the subscription as), so feedback
    sent again by the same platform on the same hash replaces its earlier one. `feedback`
    lists every SubmitFeedback call received; `held_feedback` what StopNCII holds.
    """

    SUBSCRIPTION = "sub-key-4711-secret"
    FETCH = "fetch-key-0815-secret"
    FEEDBACK = "feedback-key-1234-secret"
    SOURCE = "Hostguard Test Platform"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.by_hash: dict[str, dict] = {}
        self.feedback: list[dict] = []
        self.held_feedback: dict[tuple[str, str], dict] = {}  # (source, hash) -> feedback
        self.clock = 1_700_000_000

    def feedback_on(self, hash_value: str) -> list[dict]:
        """The record's `CSPFeedbacks`: each platform's feedback on the hash."""
        with self.lock:
            return [dict(f) for (_, h), f in sorted(self.held_feedback.items()) if h == hash_value]

    @property
    def records(self) -> list[dict]:
        """The records in time order."""
        return sorted(self.by_hash.values(), key=lambda r: r["lastModtimestamp"])

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def put(self, hash_value: str, status: str = "Active", signal: str = "ImagePDQ") -> None:
        """Add or change a record (its time moves on, as the real list's does)."""
        self.clock += 10
        self.by_hash.pop(hash_value, None)
        self.by_hash[hash_value] = {
            "lastModtimestamp": self.clock,
            "signalType": signal,
            "hashValue": hash_value,
            "hashStatus": status,
            "caseNumbers": {},
            "CSPFeedbacks": [],
        }

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
            matching = [r for r in self.records if r["lastModtimestamp"] >= start]
            page = matching[offset : offset + self.page_size]
            self.hold(offset // self.page_size + 1)
            more = offset + self.page_size < len(matching)
            answer = {
                "count": len(page),
                "nextPageToken": str(offset + self.page_size) if more else None,
                "nextSetTimestamp": page[-1]["lastModtimestamp"] if page else start,
                "hasMoreRecords": more,
                "hashRecords": [
                    {**r, "CSPFeedbacks": self.feedback_on(r["hashValue"])} for r in page
                ],
            }
            return 200, "application/json", json.dumps(answer).encode()
        if method == "POST" and url.path == "/v1/SubmitFeedback":
            if headers.get("x-functions-key") != self.FEEDBACK:
                return 401, "application/json", b'{"message": "bad function key"}'
            payload = json.loads(body)
            with self.lock:
                self.feedback.append(payload)
                for given in payload["hashFeedbacks"]:
                    self.held_feedback[(self.SOURCE, given["hashValue"])] = {
                        "source": self.SOURCE,
                        "feedbackValue": given["feedbackValue"],
                        "tags": sorted(given.get("tags") or []),
                    }
            if self.faults.hold_feedback:
                self.faults.hold_feedback = False
                self.faults.held.set()
                self.faults.release.wait(60)
            return 200, "application/json", b"{}"
        return 404, "application/json", b"{}"


class FakeNCMEC(FakeServer):
    """NCMEC's hash sharing API (v2): GET /v2/entries?from=&to= in XML, paged with `next`
    (start, size, max), HTTP basic auth, and PUT /v2/entries/ESP/ID/PDQ/feedback with
    GET /v2/feedback/PDQ/reasons for a downvote's reason.

    Feedback is the member's vote on one fingerprint of one entry, as the `PUT` to that
    entry's feedback address says and as NCMEC's entries show it (`<feedback>`: per
    fingerprint, the members of each vote and reason): a second `PUT` by the same member
    sets the same vote again. `feedback` lists every call received; `votes` what NCMEC holds.
    """

    USER = "ncmec-user"
    PASSWORD = "ncmec-password-9999-secret"
    MEMBER = (7, "Hostguard Test Platform")  # the member these credentials belong to
    NS = "https://hashsharing.ncmec.org/hashsharing/v2"
    DATE = "%Y-%m-%dT%H:%M:%SZ"
    REASONS = {"r-1": "Not CSAM"}

    def __init__(self, page_size: int = 1000) -> None:
        super().__init__()
        self.page_size = page_size
        self.entries: dict[str, dict] = {}  # id -> {ts, member, pdq, deleted, classification}
        self.feedback: list[tuple[str, bytes]] = []
        # (entry's member, entry id, fingerprint, voting member) -> (vote, reason guid)
        self.votes: dict[tuple[int, str, str, int], tuple[str, str | None]] = {}

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
                    inner += self._feedback_xml(e["member"], entry_id)
                parts.append(f"<{tag}>{inner}</{tag}>")
            parts.append("</images>")
        if next_:
            parts.append(f"<paging><next>{escape(next_)}</next></paging>")
        parts.append("</queryResult>")
        return "".join(parts).encode()

    def _feedback_xml(self, member: int, entry_id: str) -> str:
        """The entry's `<feedback>` as NCMEC's documentation shows it: per fingerprint and
        vote (and reason), the members who gave it."""
        with self.lock:
            votes = [
                (fp, voter, vote, reason)
                for (m, i, fp, voter), (vote, reason) in sorted(self.votes.items())
                if (m, i) == (member, entry_id)
            ]
        if not votes:
            return "<feedback/>"
        parts = ["<feedback>"]
        for fp, voter, vote, reason in votes:
            who = f'<members><member id="{voter}">{self.MEMBER[1]}</member></members>'
            if vote == "affirmative":
                parts.append(f'<affirmativeFeedback type="{fp}">{who}</affirmativeFeedback>')
            else:
                name = self.REASONS.get(reason or "", "?")
                parts.append(
                    f'<negativeFeedback type="{fp}"><reasons>'
                    f'<reason guid="{reason}" name="{name}" type="{fp}"/>{who}'
                    "</reasons></negativeFeedback>"
                )
        parts.append("</feedback>")
        return "".join(parts)

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
            import xml.etree.ElementTree as ET

            _, _, _, esp, entry_id, fingerprint, _ = url.path.split("/")
            submission = ET.fromstring(body)
            negative = submission.find(f"{{{self.NS}}}negative")
            vote = ("affirmative", None)
            if negative is not None:
                guid = negative.find(f"{{{self.NS}}}reasonIds/{{{self.NS}}}guid")
                if guid is None or guid.text not in self.REASONS:
                    return 400, "text/plain", b"a negative vote needs a known reason"
                vote = ("negative", guid.text)
            with self.lock:
                self.feedback.append((url.path, body))
                self.votes[(int(esp), entry_id, fingerprint, self.MEMBER[0])] = vote
            if self.faults.hold_feedback:
                self.faults.hold_feedback = False
                self.faults.held.set()
                self.faults.release.wait(60)
            return 200, "application/xml", b"<ok/>"
        return 404, "text/plain", b"not found"


class FakeThreatExchange(FakeServer):
    """Meta's Graph API for ThreatExchange: GET /PG/threat_updates/ with `access_token`,
    `start_time`, `limit`, paged by a full `paging.next` URL; deletions as `should_delete`."""

    APP_ID = "1234567890"
    TOKEN = f"{APP_ID}|te-app-secret-abcdefghijklmnop"
    GROUP = "303636684709969"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.updates: dict[str, dict] = {}
        self.clock = 1_700_000_000

    @property
    def url(self) -> str:
        return f"{self.root}/v26.0"

    def put(self, indicator: str, *, delete: bool = False, tags=("nsfw",)) -> None:
        self.clock += 10
        key = str(abs(hash(indicator)) % 10**12)
        self.updates[key] = {
            "id": key,
            "indicator": indicator,
            "type": "HASH_PDQ",
            "last_updated": self.clock,
            "should_delete": delete,
            "descriptors": {
                "data": [
                    {
                        "id": str(int(key) + 1),
                        "owner": {"id": "4242"},
                        "status": "MALICIOUS",
                        "tags": list(tags),
                        "added_on": "2024-01-01T00:00:00+0000",
                    }
                ]
            },
        }

    def handle(self, method, path, headers, body):
        from urllib.parse import urlencode

        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if query.get("access_token") != self.TOKEN:
            return 400, "application/json", b'{"error": {"message": "Invalid OAuth access token"}}'
        if method != "GET" or url.path != f"/v26.0/{self.GROUP}/threat_updates/":
            return 404, "application/json", b"{}"
        start = int(query.get("start_time") or 0)
        offset = int(query.get("after") or 0)
        rows = sorted(
            (u for u in self.updates.values() if u["last_updated"] >= start),
            key=lambda u: u["last_updated"],
        )
        page = rows[offset : offset + self.page_size]
        self.hold(offset // self.page_size + 1)
        answer: dict = {"data": page}
        if offset + self.page_size < len(rows):
            nxt = {**query, "after": str(offset + self.page_size)}
            answer["paging"] = {"next": f"{self.root}{url.path}?{urlencode(nxt)}"}
        return 200, "application/json", json.dumps(answer).encode()


class FakeTAT(FakeServer):
    """Tech Against Terrorism's hash list: POST token-auth/tcap/ for a bearer token, then
    GET api/hash-list/v2/all?after=CHECKPOINT paged by `next` (a query string)."""

    USER = "tat-user"
    PASSWORD = "tat-password-7777-secret"
    TOKEN = "tat-jwt-token-secret"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.page_size = page_size
        self.rows: dict[int, dict] = {}
        self.clock = 1_700_000_000

    @property
    def url(self) -> str:
        return self.root + "/"

    def put(self, row_id: int, digest: str, *, deleted: bool = False) -> None:
        self.clock += 10
        self.rows[row_id] = {
            "hash_digest": digest,
            "algorithm": "PDQ",
            "ideology": "far-right",
            "file_type": "jpg",
            "deleted": deleted,
            "updated_on": float(self.clock),
            "created_on": "2024-01-01T00:00:00Z",
            "id": row_id,
        }

    def handle(self, method, path, headers, body):
        url = urlparse(path)
        if method == "POST" and url.path == "/token-auth/tcap/":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if (form.get("username"), form.get("password")) != (self.USER, self.PASSWORD):
                return 401, "application/json", b'{"error": "bad credentials"}'
            return 200, "application/json", json.dumps({"token": self.TOKEN}).encode()
        if headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, "application/json", b'{"error": "not authenticated"}'
        if method == "GET" and url.path == "/api/hash-list/v2/all":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            after = query.get("after") or ""
            since = (float(after.split(",")[0]), int(after.split(",")[1])) if after else (0.0, 0)
            rows = sorted(
                (r for r in self.rows.values() if (r["updated_on"], r["id"]) > since),
                key=lambda r: (r["updated_on"], r["id"]),
            )
            offset = int(query.get("offset") or 0)
            page = rows[offset : offset + self.page_size]
            self.hold(offset // self.page_size + 1)
            more = offset + self.page_size < len(rows)
            last = page[-1] if page else None
            answer = {
                "count": len(rows),
                "next": f"limit={self.page_size}&offset={offset + self.page_size}"
                if more
                else None,
                "previous": None,
                "checkpoint": f"{last['updated_on']},{last['id']}" if last else after,
                "results": page,
            }
            return 200, "application/json", json.dumps(answer).encode()
        return 404, "application/json", b"{}"
