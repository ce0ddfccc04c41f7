"""A test plugin for real worker processes: a job handler that writes, then blocks until a file appears.

Worker processes import it through HOSTGUARD_WORKER_IMPORTS=tests.ops.blocking_jobs.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.jobs.service import enqueue, handler

EFFECT = "test.blocking.effect"


@handler("test.blocking")
def blocking(*, session, payload, job, runtime):
    """Write an outbox row, mark that this attempt started, wait for the release file, then audit.

    The outbox row (a job of kind `test.blocking.effect`, never due) is written and flushed
    *before* the wait, so an attempt killed while waiting has written something that must be
    rolled back. The started file `started-<job>-<attempt>-<pid>` holds that row's id.
    """
    effect = enqueue(
        session,
        EFFECT,
        {"job": job.id, "attempt": job.attempts, "pid": os.getpid()},
        run_at=utcnow() + timedelta(days=365),
    )
    session.flush()
    folder = Path(payload["dir"])
    (folder / f"started-{job.id}-{job.attempts}-{os.getpid()}").write_text(str(effect.id))
    release = folder / "release"
    deadline = time.monotonic() + 90
    while not release.exists():  # the test decides when the job may finish
        if time.monotonic() > deadline:
            raise TimeoutError("release file never appeared")
        time.sleep(0.05)
    record(session, actor="system", action="test.blocking.done", subject=f"job:{job.id}")


@handler("test.quick")
def quick(*, session, payload, job, runtime):
    """Done at once: shows a worker thread is free to take new work."""
