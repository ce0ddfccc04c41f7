"""Many threads claiming from one queue at once: every due job is handed out exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from sqlmodel import select

from hostguard.jobs import service
from hostguard.jobs.models import Job, JobStatus

THREADS = 6
JOBS = 120
RAN: list[int] = []
_RAN_LOCK = threading.Lock()


@service.handler("test.contended")
def _contended(*, session, payload, job, runtime):
    with _RAN_LOCK:
        RAN.append(job.id)


def _enqueue(runtime, count: int) -> list[int]:
    with runtime.session() as s:
        return [service.enqueue(s, "test.contended", {"n": n}).id for n in range(count)]


def _race(target) -> list:
    """Start `target(index)` on every thread at the same moment; their results, in thread order."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a claiming thread hung"
    assert not errors, errors
    return results


def test_threads_claiming_at_once_take_every_job_exactly_once(runtime):
    ids = _enqueue(runtime, JOBS)

    def claim_until_empty(index: int) -> list[int]:
        taken = []
        while batch := service.claim(runtime.engine, worker=f"thread-{index}", limit=3):
            taken.extend(batch)
        return taken

    taken = _race(claim_until_empty)
    counts = Counter(job_id for batch in taken for job_id in batch)
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}, [i for i, n in counts.items() if n > 1]
    with runtime.session() as s:
        jobs = {j.id: j for j in s.exec(select(Job))}
    for index, batch in enumerate(taken):  # the row says who holds it, and it was claimed once
        for job_id in batch:
            job = jobs[job_id]
            assert (job.status, job.locked_by, job.attempts) == (
                JobStatus.RUNNING,
                f"thread-{index}",
                1,
            )


def test_threads_running_due_jobs_run_each_exactly_once(runtime):
    RAN.clear()
    ids = _enqueue(runtime, JOBS // 2)
    ran = _race(
        lambda index: service.run_due(
            runtime.engine,
            worker=f"thread-{index}",
            runtime=runtime,
            limit=JOBS,
            kinds={"test.contended"},
        )
    )
    assert sum(ran) == len(ids)
    assert sorted(RAN) == ids
    with runtime.session() as s:
        statuses = {j.status for j in s.exec(select(Job).where(Job.kind == "test.contended"))}
        assert statuses == {JobStatus.DONE}
