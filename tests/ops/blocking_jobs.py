"""A test plugin for real worker processes: a job handler that blocks until a file appears.

Worker processes import it through HOSTGUARD_WORKER_IMPORTS=tests.ops.blocking_jobs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hostguard.audit.service import record
from hostguard.jobs.service import handler


@handler("test.blocking")
def blocking(*, session, payload, job, runtime):
    """Mark that this attempt started, wait for the release file, then write one audit record."""
    folder = Path(payload["dir"])
    (folder / f"started-{job.attempts}-{os.getpid()}").write_text(str(job.id))
    release = folder / "release"
    deadline = time.monotonic() + 120
    while not release.exists():  # the test decides when the job may finish
        if time.monotonic() > deadline:
            raise TimeoutError("release file never appeared")
        time.sleep(0.05)
    record(session, actor="system", action="test.blocking.done", subject=f"job:{job.id}")
