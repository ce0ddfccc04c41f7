"""The git pre-receive hook: real `git push` into a bare repository whose hook asks a live hostguard."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HOOK = Path(__file__).resolve().parents[2] / "hooks" / "hostguard_pre_receive.py"


def _png(seed=5) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).resize((256, 256))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def git(*args, cwd, env=None, check=True):
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=60
    )


@pytest.fixture
def repos(tmp_path):
    """(bare remote with the hook installed, a work tree with one commit) -> (remote, work, sha)."""
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f'#!/bin/sh\nexec {sys.executable} {HOOK} "$@"\n')
    hook.chmod(0o755)
    git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    (work / "README.md").write_text("# pixels\n")
    (work / "samples").mkdir()
    (work / "samples" / "a.png").write_bytes(_png())
    (work / "model.bin").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123456789\n"
    )
    git("add", ".", cwd=work)
    git(
        "-c",
        "user.name=A",
        "-c",
        "user.email=a@example.org",
        "commit",
        "-q",
        "-m",
        "first",
        cwd=work,
    )
    sha = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    return remote, work, sha


@pytest.fixture
def hook_env(tmp_path, api_headers, live_server):
    token_file = tmp_path / "token"
    token_file.write_text(api_headers("operator")["Authorization"].split(" ", 1)[1] + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GL_", "GITEA_", "GITHUB_", "HOSTGUARD_"))
    }
    env.update(
        {
            "HOSTGUARD_URL": live_server.url,
            "HOSTGUARD_TOKEN_FILE": str(token_file),
            "HOSTGUARD_HOOK_VISIBILITY": "private",
            "HOSTGUARD_HOOK_TIMEOUT": "20",
            "GITEA_PUSHER_NAME": "alice",
            "GITEA_PUSHER_EMAIL": "alice@example.org",
            "GITEA_REPO_USER_NAME": "alice",
            "GITEA_REPO_NAME": "pixels",
        }
    )
    return env


def push(remote, work, env):
    return git("push", str(remote), "main", cwd=work, env=env, check=False)


def test_push_is_held_until_certified_then_accepted(repos, hook_env, client, api_headers, runtime):
    remote, work, sha = repos
    result = push(remote, work, hook_env)
    assert result.returncode != 0
    assert f"refs/heads/main at {sha[:12]}: hold" in result.stderr
    assert "[certification_required]" in result.stderr
    assert "/portal/certifications?token=" in result.stderr
    assert (
        git("rev-parse", "--verify", "-q", "main", cwd=remote, check=False).returncode != 0
    )  # nothing landed

    from sqlmodel import select

    from hostguard.uploads.models import UploadCheck

    with runtime.session() as s:
        check = s.exec(select(UploadCheck)).one()
        assert check.revision == sha and check.file_count == 3 and check.image_count == 1
    response = client.post(
        "/api/v1/certifications",
        headers=api_headers("operator"),
        json={
            "uploader_id": "alice",
            "repo_id": "alice/pixels",
            "revision": sha,
            "signed_name": "Alice A",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    assert response.status_code == 201
    result = push(remote, work, hook_env)
    assert result.returncode == 0, result.stderr
    assert f"{sha[:12]}: allow" in result.stderr
    assert git("rev-parse", "main", cwd=remote).stdout.strip() == sha


def test_gitlab_lines_carry_the_gl_hook_err_prefix(repos, hook_env):
    remote, work, _ = repos
    env = {k: v for k, v in hook_env.items() if not k.startswith("GITEA_")}
    env.update({"GL_USERNAME": "alice", "GL_ID": "user-7", "GL_PROJECT_PATH": "alice/pixels"})
    result = push(remote, work, env)
    assert result.returncode != 0
    remote_lines = [line for line in result.stderr.splitlines() if line.startswith("remote: ")]
    assert any(
        line.startswith("remote: GL-HOOK-ERR: hostguard: refs/heads/main") for line in remote_lines
    )
    assert any(
        "GL-HOOK-ERR:   - " in line and "[certification_required]" in line for line in remote_lines
    )


def test_dry_run_reports_but_accepts(repos, hook_env):
    remote, work, _ = repos
    result = push(remote, work, {**hook_env, "HOSTGUARD_HOOK_DRY_RUN": "1"})
    assert result.returncode == 0
    assert ": hold" in result.stderr and "dry run, push accepted anyway" in result.stderr


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_fail_closed_by_default_and_fail_open_when_configured(repos, hook_env):
    remote, work, _ = repos
    down = {**hook_env, "HOSTGUARD_URL": f"http://127.0.0.1:{_closed_port()}"}
    result = push(remote, work, down)
    assert (
        result.returncode != 0
        and "could not check this push" in result.stderr
        and "rejected" in result.stderr
    )
    result = push(remote, work, {**down, "HOSTGUARD_HOOK_FAIL_OPEN": "1"})
    assert result.returncode == 0 and "accepted (fail-open)" in result.stderr


def test_a_silent_server_is_bounded_by_the_timeout(repos, hook_env):
    remote, work, _ = repos
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        env = {
            **hook_env,
            "HOSTGUARD_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "HOSTGUARD_HOOK_TIMEOUT": "1",
        }
        result = push(remote, work, env)
    finally:
        silent.close()
    assert result.returncode != 0 and "timed out" in result.stderr


def test_missing_identity_or_bad_token_is_refused(repos, hook_env, tmp_path):
    remote, work, _ = repos
    env = {k: v for k, v in hook_env.items() if not k.startswith("GITEA_")}
    result = push(remote, work, env)
    assert result.returncode != 0 and "no pusher identity" in result.stderr
    bad = tmp_path / "bad-token"
    bad.write_text("not-a-key")
    result = push(remote, work, {**hook_env, "HOSTGUARD_TOKEN_FILE": str(bad)})
    assert result.returncode != 0 and "hostguard answered 401" in result.stderr


class _OddServer:
    """A tiny hostguard stand-in on 127.0.0.1: answers every check with `body` (bytes), keeps requests.

    With `truncate`, the Content-Length promises more than is sent before the connection closes.
    """

    def __init__(self, body: bytes, truncate: bool = False):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests.append(
                    json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) + (100 if truncate else 0)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    "body, truncate",
    [
        (b'{"decision": "allow"', True),
        (b'["allow"]', False),
        (b'{"decision": "allow", "reasons": ["x"]}', False),
    ],
    ids=["truncated-body", "json-list", "malformed-reasons"],
)
def test_a_broken_answer_is_unavailable_not_a_traceback(repos, hook_env, body, truncate):
    remote, work, _ = repos
    with _OddServer(body, truncate=truncate) as server:
        env = {**hook_env, "HOSTGUARD_URL": server.url}
        result = push(remote, work, env)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        assert "could not check this push" in result.stderr and "rejected" in result.stderr
        result = push(remote, work, {**env, "HOSTGUARD_HOOK_FAIL_OPEN": "1"})
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "accepted (fail-open)" in result.stderr
        assert len(server.requests) == 2  # the hook did reach the server both times


@pytest.mark.parametrize(
    "public, visibility", [("true", "public"), ("false", "private"), (None, "gated")]
)
def test_github_enterprise_repo_visibility_is_checked(repos, hook_env, public, visibility):
    remote, work, _ = repos
    env = {k: v for k, v in hook_env.items() if not k.startswith("GITEA_")}
    env.update(
        {
            "GITHUB_USER_LOGIN": "alice",
            "GITHUB_REPO_NAME": "alice/pixels",
            "HOSTGUARD_HOOK_VISIBILITY": "gated",
        }
    )  # the fallback when the platform does not say
    if public is not None:
        env["GITHUB_REPO_PUBLIC"] = public
    with _OddServer(
        json.dumps({"decision": "allow", "reasons": [], "required_steps": []}).encode()
    ) as server:
        result = push(remote, work, {**env, "HOSTGUARD_URL": server.url})
    assert result.returncode == 0, result.stderr
    (request,) = server.requests
    assert request["repo"] == {**request["repo"], "id": "alice/pixels", "visibility": visibility}
    assert request["uploader"]["id"] == "alice"


def test_a_repo_certified_before_its_first_push_is_accepted_then_and_later(
    repos, hook_env, client, api_headers
):
    """`certifications.scope: repo` (shipped): the platform certifies the repo before anything is
    pushed (no revision), so the first push is not rejected first, nor is a later commit."""
    remote, work, sha = repos
    response = client.post(
        "/api/v1/certifications",
        headers=api_headers("operator"),
        json={
            "uploader_id": "alice",
            "repo_id": "alice/pixels",
            "signed_name": "Alice A",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["receipt"]["receipt"]["revision"] == "*"
    result = push(remote, work, hook_env)
    assert result.returncode == 0, result.stderr
    assert f"{sha[:12]}: allow" in result.stderr
    (work / "README.md").write_text("# pixels, second\n")
    git("-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-qam", "two", cwd=work)
    second = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    result = push(remote, work, hook_env)
    assert result.returncode == 0, result.stderr
    assert f"{second[:12]}: allow" in result.stderr
