"""A small fake Hugging Face Hub: the endpoints the real `huggingface_hub` client calls in our tests.

Served on 127.0.0.1 in a thread; point the client at it with HF_ENDPOINT / `endpoint=`.
Only what hostguard and the upload wrapper use: whoami, commit (regular files only),
repo info / file tree, file download, repo settings and discussions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field

from flask import Flask, Response, abort, jsonify, request
from werkzeug.serving import make_server


@dataclass
class FakeRepo:
    repo_id: str
    private: bool = False
    gated: bool | str = False
    commits: list[tuple[str, dict[str, bytes]]] = field(default_factory=list)
    discussions: list[dict] = field(default_factory=list)

    def files_at(self, revision: str | None) -> tuple[str, dict[str, bytes]]:
        if not self.commits:
            abort(404)
        if revision in (None, "main"):
            return self.commits[-1]
        for oid, files in self.commits:
            if oid == revision:
                return oid, files
        abort(
            Response(
                json.dumps({"error": "Invalid rev id"}),
                404,
                {"X-Error-Code": "RevisionNotFound", "Content-Type": "application/json"},
            )
        )


class FakeHub:
    def __init__(self, user: str = "alice"):
        self.user = user
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[str] = []
        # for tests: called while a settings change is being made; and how many settings answers
        # to lose (the change is made, the client gets a 500, as when an answer is lost on its way)
        self.during_settings = None
        self.lose_settings_answers = 0
        self.app = self._build()
        self._server = None

    # --- helpers for tests
    def commit(self, repo_id: str, files: dict[str, bytes]) -> str:
        repo = self.repos.setdefault(repo_id, FakeRepo(repo_id))
        previous = dict(repo.commits[-1][1]) if repo.commits else {}
        previous.update(files)
        oid = hashlib.sha1(
            repr(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in previous.items())).encode()
            + str(len(repo.commits)).encode()
        ).hexdigest()
        repo.commits.append((oid, previous))
        return oid

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()

    # --- the app
    def _build(self) -> Flask:
        app = Flask("fakehub")
        hub = self

        @app.before_request
        def _log():
            hub.requests.append(f"{request.method} {request.path}")

        def repo_or_404(repo_id: str) -> FakeRepo:
            if repo_id not in hub.repos:
                abort(
                    Response(
                        json.dumps({"error": "Repository not found"}),
                        404,
                        {"X-Error-Code": "RepoNotFound", "Content-Type": "application/json"},
                    )
                )
            return hub.repos[repo_id]

        @app.get("/api/whoami-v2")
        def whoami():
            return jsonify({"type": "user", "id": f"id-{hub.user}", "name": hub.user, "auth": {}})

        @app.post("/api/models/<path:repo_id>/preupload/<revision>")
        def preupload(repo_id, revision):
            files = request.get_json()["files"]
            return jsonify(
                {
                    "files": [
                        {
                            "path": f["path"],
                            "uploadMode": "regular",
                            "shouldIgnore": False,
                            "oid": None,
                        }
                        for f in files
                    ]
                }
            )

        @app.post("/api/models/<path:repo_id>/commit/<revision>")
        def commit(repo_id, revision):
            files = {}
            for line in request.get_data().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            oid = hub.commit(repo_id, files)
            return jsonify(
                {
                    "commitUrl": f"{request.host_url}{repo_id}/commit/{oid}",
                    "commitOid": oid,
                    "pullRequestUrl": None,
                }
            )

        def info(repo: FakeRepo, revision: str | None):
            oid, files = repo.files_at(revision)
            card = files.get("README.md", b"").decode()
            return jsonify(
                {
                    "id": repo.repo_id,
                    "modelId": repo.repo_id,
                    "sha": oid,
                    "private": repo.private,
                    "gated": repo.gated,
                    "disabled": False,
                    "author": repo.repo_id.split("/")[0],
                    "siblings": [
                        _sibling(p, files[p], blobs=_truthy(request.args.get("blobs")))
                        for p in sorted(files)
                    ],
                    "cardData": _front_matter(card),
                    # the Hub reads the task from the card's metadata
                    "pipeline_tag": _front_matter(card).get("pipeline_tag"),
                    "tags": [],
                    "downloads": 0,
                    "likes": 0,
                }
            )

        @app.get("/api/models/<path:repo_id>/revision/<revision>")
        def repo_info_rev(repo_id, revision):
            return info(repo_or_404(repo_id), revision)

        @app.get("/api/models/<path:repo_id>")
        def repo_info_head(repo_id):  # HfApi.repo_info without a revision: private / gated settings
            return info(repo_or_404(repo_id), None)

        @app.get("/api/models/<path:repo_id>/tree/<revision>")
        @app.get("/api/models/<path:repo_id>/tree/<revision>/<path:sub>")
        def tree(repo_id, revision, sub=""):
            oid, files = repo_or_404(repo_id).files_at(revision)
            return jsonify(
                [
                    {"type": "file", "path": p, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                    for p, d in sorted(files.items())
                    if p.startswith(sub)
                ]
            )

        @app.route("/<path:repo_id>/resolve/<revision>/<path:filename>", methods=["GET", "HEAD"])
        def resolve(repo_id, revision, filename):
            oid, files = repo_or_404(repo_id).files_at(revision)
            if filename not in files:
                abort(Response("Entry not found", 404, {"X-Error-Code": "EntryNotFound"}))
            data = files[filename]
            etag = f'"{hashlib.sha1(data).hexdigest()}"'
            headers = {
                "X-Repo-Commit": oid,
                "ETag": etag,
                "Content-Length": str(len(data)),
                "Content-Type": "application/octet-stream",
            }
            return Response(data, 200, headers)  # werkzeug drops the body of a HEAD

        @app.put("/api/models/<path:repo_id>/settings")
        def settings(repo_id):
            repo = repo_or_404(repo_id)
            body = request.get_json()
            if "private" in body:  # older clients
                repo.private = bool(body["private"])
            if "visibility" in body:
                repo.private = body["visibility"] == "private"
            if "gated" in body:
                repo.gated = body["gated"]
            if hub.during_settings:
                hub.during_settings(repo_id)
            if hub.lose_settings_answers:
                hub.lose_settings_answers -= 1
                return jsonify({"error": "upstream timed out"}), 500
            return jsonify({})

        @app.post("/api/models/<path:repo_id>/discussions")
        def discussions(repo_id):
            repo = repo_or_404(repo_id)
            body = request.get_json()
            num = len(repo.discussions) + 1
            repo.discussions.append({"num": num, **body})
            return jsonify({"num": num})

        @app.get("/api/models/<path:repo_id>/discussions/<int:num>")
        def discussion(repo_id, num):
            repo = repo_or_404(repo_id)
            if not 0 < num <= len(repo.discussions):
                abort(404)
            body = repo.discussions[num - 1]
            return jsonify(
                {
                    "num": num,
                    "title": body.get("title"),
                    "status": "open",
                    "author": {"name": hub.user},
                    "createdAt": "2026-11-22T12:00:00.000Z",
                    "isPullRequest": bool(body.get("pullRequest")),
                    "events": [],
                    "repo": {"name": repo_id, "type": "model"},
                }
            )

        return app


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def _sibling(path: str, data: bytes, *, blobs: bool) -> dict:
    """A sibling as the Hub lists it; size and blob id only when asked with `blobs=true`."""
    if not blobs:
        return {"rfilename": path}
    return {"rfilename": path, "size": len(data), "blobId": hashlib.sha1(data).hexdigest()}


def _front_matter(card: str) -> dict:
    import yaml

    if not card.startswith("---"):
        return {}
    parts = card.split("\n---", 1)
    return yaml.safe_load(parts[0][3:]) or {} if len(parts) == 2 else {}
