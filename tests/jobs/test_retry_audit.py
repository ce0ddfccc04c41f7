"""`hostguard jobs retry` is audited in the same transaction as the retry."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.errors import Conflict
from hostguard.jobs import service
from hostguard.jobs.models import Job, JobStatus


def _dead_job(runtime, kind: str = "test.retry-audit") -> int:
    with runtime.session() as session:
        job = service.enqueue(session, kind, {"n": 1}, max_attempts=1)
        job.status, job.attempts = JobStatus.DEAD, 1
        return job.id


def _records(runtime, action: str) -> list[AuditRecord]:
    with runtime.session() as session:
        return list(session.exec(select(AuditRecord).where(AuditRecord.action == action)))


def test_cli_retry_writes_an_audit_record(cli, runtime):
    job_id = _dead_job(runtime)
    result = cli("jobs", "retry", str(job_id))
    assert result.exit_code == 0, result.output
    [entry] = _records(runtime, "job.retry")
    assert entry.subject == f"job:{job_id}" and entry.actor.startswith("cli")
    assert entry.details == {"kind": "test.retry-audit", "status": "dead", "attempts": 1}
    with runtime.session() as session:
        assert session.get(Job, job_id).status == JobStatus.QUEUED
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_a_refused_retry_writes_nothing(runtime):
    job_id = _dead_job(runtime)
    with runtime.session() as session:
        session.get(Job, job_id).status = JobStatus.DONE
    with pytest.raises(Conflict), runtime.session() as session:
        service.retry(session, job_id, actor="user:1")
    assert _records(runtime, "job.retry") == []


def test_the_record_rolls_back_with_the_retry(runtime):
    job_id = _dead_job(runtime)
    with pytest.raises(RuntimeError), runtime.session() as session:
        service.retry(session, job_id, actor="user:1", reason="platform back up")
        raise RuntimeError("the command failed after the retry")
    assert _records(runtime, "job.retry") == []
    with runtime.session() as session:
        assert session.get(Job, job_id).status == JobStatus.DEAD
        service.retry(session, job_id, actor="user:1", reason="platform back up")
    [entry] = _records(runtime, "job.retry")
    assert entry.actor == "user:1" and entry.reason == "platform back up"
