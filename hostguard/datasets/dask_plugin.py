"""The Dask worker plugin a scan registers: `engines.steady_malloc` on every worker."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from hostguard.datasets.engines import steady_malloc


class SteadyMalloc(WorkerPlugin):
    """`steady_malloc` as each worker starts, and on the workers running when registered."""

    idempotent = True  # registering it again (another scan on the same cluster) changes nothing

    def setup(self, worker: Any) -> None:
        steady_malloc()
