"""The database job queue: dedupe, retries with backoff, dead jobs, leases that expire."""

from datetime import timedelta

from sqlmodel import select

from hostguard.db.types import utcnow
from hostguard.jobs import service
from hostguard.jobs.models import Job, JobStatus

CALLS: list[dict] = []


@service.handler("test.ok")
def _ok(*, session, payload, job, runtime):
    CALLS.append(payload)


@service.handler("test.fail")
def _fail(*, session, payload, job, runtime):
    raise ConnectionError("platform down")


def test_job_runs_once_and_dedupes(runtime):
    CALLS.clear()
    with runtime.session() as s:
        first = service.enqueue(s, "test.ok", {"n": 1}, dedupe_key="event-1")
        again = service.enqueue(s, "test.ok", {"n": 2}, dedupe_key="event-1")
        assert first.id == again.id
    assert service.run_due(runtime.engine, runtime=runtime) == 1
    assert service.run_due(runtime.engine, runtime=runtime) == 0
    assert CALLS == [{"n": 1}]
    with runtime.session() as s:
        assert s.get(Job, first.id).status == JobStatus.DONE


def test_failing_job_backs_off_then_dies(runtime):
    with runtime.session() as s:
        job_id = service.enqueue(s, "test.fail", {}, max_attempts=2).id
    service.run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        job = s.get(Job, job_id)
        assert job.status == JobStatus.QUEUED and job.attempts == 1
        assert "platform down" in job.last_error
        assert job.run_at > utcnow()
        job.run_at = utcnow()  # skip the backoff
    service.run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        assert s.get(Job, job_id).status == JobStatus.DEAD


def test_expired_lease_is_claimed_again(runtime):
    CALLS.clear()
    with runtime.session() as s:
        job_id = service.enqueue(s, "test.ok", {"n": 7}).id
    assert service.claim(runtime.engine, worker="dead-worker") == [job_id]
    assert service.claim(runtime.engine, worker="other") == []  # leased
    with runtime.session() as s:
        s.get(Job, job_id).locked_until = utcnow() - timedelta(seconds=1)
    assert service.run_due(runtime.engine, worker="other", runtime=runtime) == 1
    assert CALLS == [{"n": 7}]
    # the first worker waking up finds the job is no longer its own
    assert service.run_job(runtime.engine, job_id, worker="dead-worker") == "lost"


def test_handler_writes_roll_back_on_failure(runtime):
    from hostguard.audit.models import AuditRecord

    @service.handler("test.half")
    def _half(*, session, payload, job, runtime):
        from hostguard.audit.service import record

        record(session, actor="system", action="half.done", subject="x")
        raise ValueError("second step failed")

    with runtime.session() as s:
        service.enqueue(s, "test.half", {})
    service.run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        assert s.exec(select(AuditRecord)).all() == []
