"""Many processes against one PostgreSQL behave as one, on 127.0.0.1 with real processes.

Two `hostguard serve` web processes and `hostguard worker` processes share one database:
a hash list imported through web process A is matched by web process B within seconds; a
worker killed (SIGKILL) mid-job, after the job has written, loses nothing and leaves no
half-written trace; two restarted workers with two threads each then compete for the same
due jobs, and every job completes exactly once with exactly one copy of its writes.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.jobs.models import Job, JobStatus
from tests.ops.blocking_jobs import EFFECT
from tests.ops.helpers import (
    free_port,
    pdq_hash,
    process_env,
    sample_image,
    start,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow

LEASE_SECONDS = 3
WORKER_ENV = {
    "HOSTGUARD_ROLES": "worker",
    "HOSTGUARD_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    "HOSTGUARD_WORKER_POLL_SECONDS": "0.1",
    "HOSTGUARD_WORKER_CONCURRENCY": "3",
    "HOSTGUARD_WORKER_IMPORTS": "tests.ops.blocking_jobs",
}


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def scan(url: str, key: str, image: bytes) -> dict:
    body, content_type = multipart("images", "sample.png", image)
    request = urllib.request.Request(
        f"{url}/api/v1/scan",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["results"][0]


def import_through(url: str, key: str, name: str, hashes: list[str]) -> dict:
    """`POST /api/v1/hashlists/<name>/import` on one web process."""
    request = urllib.request.Request(
        f"{url}/api/v1/hashlists/{name}/import?algorithm=pdq",
        method="POST",
        data=("\n".join(hashes) + "\n").encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _jobs(runtime, kind: str) -> list[Job]:
    with runtime.session() as s:
        return list(s.exec(select(Job).where(Job.kind == kind).order_by(Job.id)))


def _starts(work, job_id: int | str = "*") -> list[tuple[int, int, int, int]]:
    """(job, attempt, pid, effect row id) for every attempt that reached its wait."""
    found = []
    for path in work.glob(f"started-{job_id}-*"):
        _, job, attempt, pid = path.name.split("-")
        found.append((int(job), int(attempt), int(pid), int(path.read_text())))
    return sorted(found)


def test_processes_share_one_database_as_one(pg_runtime, tmp_path):
    from hostguard.accounts.service import create_api_key

    with pg_runtime.session() as s:
        _, key = create_api_key(session=s, name="platform", scopes=["operator"], actor="test")
    work = tmp_path / "work"
    work.mkdir()
    image, other = sample_image(1), sample_image(2)
    web_env = process_env(
        pg_runtime, HOSTGUARD_ROLES="api,matcher", HOSTGUARD_RATELIMIT_ENABLED="false"
    )
    worker_env = process_env(pg_runtime, **WORKER_ENV)
    ports = [free_port(), free_port()]
    webs = [
        start(
            ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            web_env,
            tmp_path / f"web-{port}.log",
        )
        for port in ports
    ]
    killed = start(["worker"], worker_env, tmp_path / "worker-killed.log")
    restarted = []
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    started_at = time.monotonic()
    try:
        for url in (a, b):
            wait_for(lambda url=url: ready(url), timeout=60, what=f"{url} to be ready")

        # 1. a list imported through web process A is matched by web process B
        assert import_through(a, key, "partner-list", [pdq_hash(other)])["version"] == 1
        for url in (a, b):  # each process has loaded version 1: the sample does not match yet
            assert scan(url, key, image)["matched"] is False
            assert scan(url, key, other)["matched"] is True
        summary = import_through(a, key, "partner-list", [pdq_hash(image)])
        assert (summary["added"], summary["version"]) == (1, 2)
        assert pdq_hash(image) not in json.dumps(summary)
        for url in (b, a):  # ... and each sees version 2 within seconds
            result = wait_for(
                lambda url=url: (r := scan(url, key, image))["matched"] and r,
                timeout=10,
                what=f"{url} to match the entry imported through {a}",
            )
            assert [m["list"] for m in result["matches"]] == ["partner-list"]
        rematches = wait_for(
            lambda: (
                (js := _jobs(pg_runtime, "hashing.rematch"))
                and all(j.status == JobStatus.DONE for j in js)
                and js
            ),
            timeout=30,
            what="the worker to run the re-matching jobs",
        )
        assert len(rematches) == 2 and {j.payload["version"] for j in rematches} == {1, 2}

        # 2. a worker killed mid-job, after the job wrote its outbox row, loses nothing
        from hostguard.jobs.service import enqueue

        with pg_runtime.session() as s:
            victim = enqueue(s, "test.blocking", {"dir": str(work)}).id
        ((_, _, pid, lost_effect),) = wait_for(
            lambda: _starts(work, victim), what="the worker to start the job"
        )
        assert pid == killed.pid
        stop(killed, signal.SIGKILL)  # no chance to clean up: the lease must expire
        with pg_runtime.session() as s:
            job = s.get(Job, victim)
            assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
            assert s.get(Job, lost_effect) is None, "the killed attempt's write was rolled back"

        # 3. two restarted workers (three threads each) compete for the victim and three more jobs:
        # four jobs held at once means both took some, and two threads stay free
        with pg_runtime.session() as s:
            others = [enqueue(s, "test.blocking", {"dir": str(work)}).id for _ in range(3)]
        restarted = [start(["worker"], worker_env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
        pids = {p.pid for p in restarted}

        def running_now():
            return [s for s in _starts(work) if s[2] in pids]

        holding = wait_for(
            lambda: len(r := running_now()) == 4 and r,
            timeout=30,
            what="the two workers to hold the four jobs",
        )
        assert {s[2] for s in holding} == pids, "both workers took jobs"
        time.sleep(LEASE_SECONDS + 1)  # every lease in hand has run out; the row locks still hold
        with pg_runtime.session() as s:  # the free threads skip the locked jobs and take new work
            quick = enqueue(s, "test.quick", {}).id
        wait_for(
            lambda: _jobs(pg_runtime, "test.quick")[0].status == JobStatus.DONE,
            timeout=10,
            what="a free thread to run a new job while the others' leases have run out",
        )
        assert running_now() == holding, "no job held by a live worker was taken again"

        (work / "release").write_text("go")
        wait_for(
            lambda: all(j.status == JobStatus.DONE for j in _jobs(pg_runtime, "test.blocking")),
            timeout=60,
            what="the restarted workers to finish every job",
        )
    finally:
        (work / "release").write_text("go")  # a failed run still lets the workers stop cleanly
        if killed.poll() is None:
            stop(killed, signal.SIGKILL)
        codes = [stop(proc) for proc in (*webs, *restarted)]
        for log in tmp_path.glob("*.log"):
            sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
    assert codes == [0, 0, 0, 0], "every process shuts down cleanly on SIGTERM"
    assert time.monotonic() - started_at < 150

    # exactly one completion and one copy of the writes per job; the victim's second attempt
    # is the one that counts
    blocking = {j.id: j for j in _jobs(pg_runtime, "test.blocking")}
    assert set(blocking) == {victim, *others}
    assert blocking[victim].attempts == 2
    assert all(blocking[i].attempts == 1 for i in others)
    effects = _jobs(pg_runtime, EFFECT)
    assert sorted(e.payload["job"] for e in effects) == sorted(blocking)
    assert all(e.payload["attempt"] == blocking[e.payload["job"]].attempts for e in effects)
    assert lost_effect not in {e.id for e in effects}
    starts = _starts(work)
    assert sorted((j, att) for j, att, _, _ in starts) == sorted(
        [(victim, 1), (victim, 2), *((i, 1) for i in others)]
    ), "no attempt ran twice"
    assert {pid for j, att, pid, _ in starts if (j, att) != (victim, 1)} == pids
    with pg_runtime.session() as s:
        done = s.exec(select(AuditRecord).where(AuditRecord.action == "test.blocking.done")).all()
    assert sorted(r.subject for r in done) == sorted(f"job:{i}" for i in blocking)
    assert all(j.attempts == 1 for j in _jobs(pg_runtime, "hashing.rematch"))
    assert [j.id for j in _jobs(pg_runtime, "test.quick")] == [quick]


def test_single_node_serve_runs_its_own_worker(runtime, tmp_path):
    """With the default roles (api, matcher, worker), `hostguard serve` alone runs jobs too."""
    from hostguard.jobs.service import enqueue

    work = tmp_path / "work"
    work.mkdir()
    (work / "release").write_text("go")  # the blocking test job may finish at once
    with runtime.session() as s:
        job_id = enqueue(s, "test.blocking", {"dir": str(work)}).id
    port = free_port()
    env = process_env(
        runtime,
        HOSTGUARD_WORKER_POLL_SECONDS="0.2",
        HOSTGUARD_WORKER_IMPORTS="tests.ops.blocking_jobs",
    )
    server = start(
        ["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "serve.log"
    )
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
