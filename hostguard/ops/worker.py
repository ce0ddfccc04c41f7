"""The `hostguard worker` process: threads that claim and run due jobs until told to stop.

SIGTERM or SIGINT lets every thread finish the job in hand and exit; a job interrupted
harder (SIGKILL, a crash) keeps its lease until it expires and then runs again elsewhere.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

import hostguard.registry  # noqa: F401  (every job handler, periodic task and actioner)
from hostguard.hashing import snapshots
from hostguard.jobs import service as jobs
from hostguard.jobs.periodic import schedule_due
from hostguard.runtime import Runtime

log = logging.getLogger(__name__)


def load_handlers(extra: str = "") -> list[str]:
    """Import the comma-separated modules in `extra`: job handlers beyond hostguard's own.

    hostguard's own (every domain's, the workflows', the actioners) come with this module,
    which imports `hostguard.registry`.
    """
    names = [m.strip() for m in extra.split(",") if m.strip()]
    for name in names:
        importlib.import_module(name)
    return names


@dataclass
class Worker:
    runtime: Runtime
    concurrency: int = 1
    poll_seconds: float = 1.0
    lease: timedelta = jobs.LEASE
    kinds: set[str] | None = None
    name: str = field(default_factory=jobs.worker_name)
    stop_event: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_settings(cls, runtime: Runtime, *, concurrency: int | None = None) -> Worker:
        ops = runtime.settings
        snapshots.configure(snapshots.directory_for(ops))  # re-matching jobs use the index too
        return cls(
            runtime=runtime,
            concurrency=concurrency or ops.worker_concurrency,
            poll_seconds=ops.worker_poll_seconds,
            lease=timedelta(seconds=ops.job_lease_seconds),
        )

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    def stop(self, *_args) -> None:
        if not self.stop_event.is_set():
            log.info("worker %s stopping after the jobs in hand", self.name)
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run_once(self) -> int:
        """Schedule due periodic tasks and run every due job; returns how many jobs ran."""
        schedule_due(self.engine, settings=self.runtime.settings)
        ran = 0
        while not self.stop_event.is_set():
            n = jobs.run_due(
                self.engine,
                worker=self.name,
                runtime=self.runtime,
                limit=50,
                kinds=self.kinds,
                lease=self.lease,
            )
            ran += n
            if n == 0:
                break
        return ran

    def _loop(self, index: int) -> None:
        thread_name = f"{self.name}/{index}"
        while not self.stop_event.is_set():
            try:
                if index == 0:
                    schedule_due(self.engine, settings=self.runtime.settings)
                ids = jobs.claim(
                    self.engine, worker=thread_name, kinds=self.kinds, lease=self.lease
                )
                if not ids:
                    self.stop_event.wait(self.poll_seconds)
                    continue
                status = jobs.run_job(self.engine, ids[0], worker=thread_name, runtime=self.runtime)
                log.info("job %s %s", ids[0], status)
            except Exception:  # the database went away for a moment: wait and try again
                log.exception("worker loop error; retrying")
                self.stop_event.wait(self.poll_seconds * 5)

    def run(self) -> None:
        """Run until `stop()` (SIGTERM); every thread finishes its current job first."""
        log.info("worker %s started with %d thread(s)", self.name, self.concurrency)
        threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"worker-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                self.stop_event.wait(0.5)
                if self.stop_event.is_set():
                    break
        finally:
            self.stop_event.set()
            for thread in threads:
                thread.join()
        log.info("worker %s stopped", self.name)
