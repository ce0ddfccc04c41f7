"""`hostguard worker`: real worker processes, graceful SIGTERM, periodic tasks.

SIGKILL mid-job and workers racing for the same jobs are in test_multiprocess.py.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.jobs import periodic as periodic_mod
from hostguard.jobs import service as jobs
from hostguard.jobs.models import Job, JobStatus, PeriodicTask
from tests.jobs.test_jobs import CALLS  # also registers the test.ok and test.fail handlers
from tests.ops.helpers import process_env, start, stop, wait_for

WORKER_ENV = {
    "HOSTGUARD_JOB_LEASE_SECONDS": "2",
    "HOSTGUARD_WORKER_POLL_SECONDS": "0.1",
    "HOSTGUARD_WORKER_CONCURRENCY": "1",
    "HOSTGUARD_WORKER_IMPORTS": "tests.ops.blocking_jobs",
}


def _job(runtime, job_id: int) -> Job:
    with runtime.session() as s:
        return s.get(Job, job_id)


def test_sigterm_lets_the_job_in_hand_finish(pg_runtime, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with pg_runtime.session() as s:
        first_id = jobs.enqueue(s, "test.blocking", {"dir": str(work)}).id
    proc = start(["worker"], process_env(pg_runtime, **WORKER_ENV), tmp_path / "worker.log")
    try:
        wait_for(
            lambda: list(work.glob(f"started-{first_id}-1-*")), what="the worker to start the job"
        )
        with pg_runtime.session() as s:  # queued while the worker is busy: must stay queued
            second_id = jobs.enqueue(s, "test.blocking", {"dir": str(work)}).id
        proc.send_signal(signal.SIGTERM)
        (work / "release").write_text("go")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            stop(proc, signal.SIGKILL)
    assert _job(pg_runtime, first_id).status == JobStatus.DONE
    with pg_runtime.session() as s:  # its write and its audit record are committed, once
        done = s.exec(select(AuditRecord).where(AuditRecord.action == "test.blocking.done")).all()
        assert [r.subject for r in done] == [f"job:{first_id}"]
    assert _job(pg_runtime, second_id).status == JobStatus.QUEUED


def test_worker_once_runs_due_jobs_on_both_databases(runtime, cli):
    CALLS.clear()
    with runtime.session() as s:
        jobs.enqueue(s, "test.ok", {"n": 42})
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "ran" in result.output
    with runtime.session() as s:
        kinds = {j.kind: j.status for j in s.exec(select(Job))}
    assert kinds["test.ok"] == JobStatus.DONE
    assert kinds["periodic.jobs.prune"] == JobStatus.DONE  # periodic tasks ran too


def test_worker_refuses_without_the_worker_role(runtime, cli, monkeypatch):
    monkeypatch.setenv("HOSTGUARD_ROLES", "api,matcher")
    result = cli("worker", "--once")
    assert result.exit_code == 2
    assert "no 'worker' role" in result.stderr


def test_periodic_task_is_enqueued_once_by_many_workers(runtime):
    calls = []

    @periodic_mod.periodic("test.sweep", every=timedelta(hours=1))
    def sweep(*, session, runtime):
        calls.append(1)

    try:
        results: list[list[str]] = []
        barrier = threading.Barrier(4)

        def schedule():
            barrier.wait()
            results.append(periodic_mod.schedule_due(runtime.engine))

        threads = [threading.Thread(target=schedule) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.count("test.sweep") for r in results) == 1
        assert periodic_mod.schedule_due(runtime.engine).count("test.sweep") == 0  # not due yet
        jobs.run_due(runtime.engine, runtime=runtime)
        assert calls == [1]
        with runtime.session() as s:
            row = s.get(PeriodicTask, "test.sweep")
            assert row.last_run_at is not None and row.every_seconds == 3600
            assert row.next_run_at > row.last_run_at
            # an hour later it is due again
            row.next_run_at = row.next_run_at - timedelta(hours=1)
        later = periodic_mod.utcnow() + timedelta(hours=1)
        assert periodic_mod.schedule_due(runtime.engine, now=later).count("test.sweep") == 1
    finally:
        periodic_mod.PERIODIC.pop("test.sweep", None)


def test_a_poll_with_nothing_due_writes_nothing(runtime):
    """The worker polls every second: with nothing due it only reads, so on SQLite it never
    makes the web processes' checks queue behind a write transaction of its own."""
    from sqlalchemy import event

    from hostguard.db import READ_ONLY

    periodic_mod.schedule_due(runtime.engine, settings=runtime.settings)  # every task's row
    writes = []

    def count(conn):
        if not conn.get_execution_options().get(READ_ONLY):
            writes.append(1)

    event.listen(runtime.engine, "begin", count)
    try:
        assert periodic_mod.schedule_due(runtime.engine, settings=runtime.settings) == []
    finally:
        event.remove(runtime.engine, "begin", count)
    assert writes == []
    # a changed interval is still written at the next poll
    with runtime.session() as s:
        row = s.exec(select(PeriodicTask)).first()
        name, row.every_seconds = row.name, row.every_seconds + 1
    periodic_mod.schedule_due(runtime.engine, settings=runtime.settings)
    with runtime.session() as s:
        assert s.get(PeriodicTask, name).every_seconds == row.every_seconds - 1


def test_worker_killed_repeatedly_on_a_job_ends_it_dead(runtime):
    with runtime.session() as s:
        job_id = jobs.enqueue(s, "test.ok", {}, max_attempts=1).id
    assert jobs.claim(runtime.engine, worker="crashing") == [job_id]
    with runtime.session() as s:
        s.get(Job, job_id).locked_until = periodic_mod.utcnow() - timedelta(seconds=1)
    assert jobs.claim(runtime.engine, worker="next") == []
    job = _job(runtime, job_id)
    assert job.status == JobStatus.DEAD and "lease expired" in job.last_error


def test_jobs_commands(runtime, cli):
    with runtime.session() as s:
        job_id = jobs.enqueue(s, "test.fail", {}, max_attempts=1).id
    jobs.run_due(runtime.engine, runtime=runtime)
    listed = cli("jobs", "list", "--status", "dead")
    assert f'"id": {job_id}' in listed.output and "platform down" in listed.output
    assert "test.fail" in cli("jobs", "stats").output
    retried = cli("jobs", "retry", str(job_id))
    assert retried.exit_code == 0 and "queued again" in retried.output
    assert _job(runtime, job_id).status == JobStatus.QUEUED
    assert cli("jobs", "retry", "999999").exit_code == 2
    assert "jobs.prune" in cli("jobs", "periodic").output


def test_serve_refuses_a_worker_only_role(runtime, cli, monkeypatch):
    monkeypatch.setenv("HOSTGUARD_ROLES", "worker")
    result = cli("serve", "--port", "1")
    assert result.exit_code == 2
    assert "needs the 'api' or 'matcher' role" in result.stderr
