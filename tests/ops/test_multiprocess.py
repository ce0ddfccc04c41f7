"""Many processes against one PostgreSQL behave as one: two `hostguard serve` web servers and a
`hostguard worker` on 127.0.0.1; a hash-list change is matched by both within seconds, and the
job the change enqueues runs once."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest
from sqlmodel import select

from hostguard.jobs.models import Job, JobStatus
from tests.ops.helpers import (
    HOSTGUARD,
    ROOT,
    free_port,
    pdq_hash,
    process_env,
    sample_image,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def scan(url: str, key: str, image: bytes) -> dict:
    body, content_type = multipart("images", "sample.png", image)
    request = urllib.request.Request(f"{url}/api/v1/scan", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["results"][0]


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def import_list(runtime, tmp_path, name: str, hashes: list[str]) -> dict:
    """`hostguard hashlist import` as its own process: a third process changing the list."""
    path = tmp_path / f"{name}-{secrets.token_hex(3)}.txt"
    path.write_text("\n".join(hashes) + "\n")
    done = subprocess.run([*HOSTGUARD, "hashlist", "import", name, str(path), "--algorithm", "pdq"],
                          env=process_env(runtime, HOSTGUARD_LOG_JSON="false"), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_list_change_is_matched_by_every_web_process_and_its_job_runs_once(pg_runtime, tmp_path):
    from hostguard.accounts.service import create_api_key

    with pg_runtime.session() as s:
        _, key = create_api_key(session=s, name="platform", scopes=["operator"], actor="test")
    image = sample_image(1)
    other = sample_image(2)
    web_env = process_env(pg_runtime, HOSTGUARD_ROLES="api,matcher", HOSTGUARD_RATELIMIT_ENABLED="false")
    ports = [free_port(), free_port()]
    webs = [start(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], web_env,
                  tmp_path / f"web-{port}.log") for port in ports]
    worker = start(["worker"], process_env(pg_runtime, HOSTGUARD_ROLES="worker",
                                           HOSTGUARD_WORKER_POLL_SECONDS="0.2"),
                   tmp_path / "worker.log")
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            wait_for(lambda url=url: ready(url), timeout=60, what=f"{url} to be ready")

        import_list(pg_runtime, tmp_path, "partner-list", [pdq_hash(other)])
        for url in urls:  # every process loads version 1: the sample does not match yet
            assert scan(url, key, image)["matched"] is False
            assert scan(url, key, other)["matched"] is True

        summary = import_list(pg_runtime, tmp_path, "partner-list", [pdq_hash(image)])
        assert summary["version"] == 2
        for url in urls:  # ... and each sees version 2 within seconds
            result = wait_for(lambda url=url: (r := scan(url, key, image))["matched"] and r,
                              timeout=10, what=f"{url} to match the new entry")
            assert [m["list"] for m in result["matches"]] == ["partner-list"]
            assert "hash" not in json.dumps(result["matches"]).replace("partner-list", "")

        def rematch_jobs():
            with pg_runtime.session() as s:
                return list(s.exec(select(Job).where(Job.kind == "hashing.rematch")))

        jobs = wait_for(lambda: (js := rematch_jobs()) and all(j.status == JobStatus.DONE for j in js) and js,
                        timeout=30, what="the worker to run the re-matching jobs")
        assert len(jobs) == 2 and all(j.attempts == 1 for j in jobs)
        assert len({j.payload["version"] for j in jobs}) == 2
    finally:
        codes = [stop(proc) for proc in (*webs, worker)]
        for log in tmp_path.glob("*.log"):
            sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
    assert codes == [0, 0, 0], "every process shuts down cleanly on SIGTERM"


def test_single_node_serve_runs_its_own_worker(runtime, tmp_path):
    """With the default roles (api, matcher, worker), `hostguard serve` alone runs jobs too."""
    from hostguard.jobs.service import enqueue

    work = tmp_path / "work"
    work.mkdir()
    (work / "release").write_text("go")  # the blocking test job may finish at once
    with runtime.session() as s:
        job_id = enqueue(s, "test.blocking", {"dir": str(work)}).id
    port = free_port()
    env = process_env(runtime, HOSTGUARD_WORKER_POLL_SECONDS="0.2",
                      HOSTGUARD_WORKER_IMPORTS="tests.ops.blocking_jobs")
    server = start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        wait_for(lambda: ready(f"http://127.0.0.1:{port}"), timeout=60, what="the server")

        def finished():
            with runtime.session() as s:
                return s.get(Job, job_id).status == JobStatus.DONE

        wait_for(finished, timeout=30, what="the embedded worker to run the job")
    finally:
        assert stop(server) == 0
    log = (tmp_path / "serve.log").read_text()
    assert "started hostguard worker process" in log
