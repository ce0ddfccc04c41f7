"""Where shards are hashed: in this process, in a local process pool, or on a Dask cluster.

All three run the same function on the same shards and hand back each shard's result as it
completes, in whatever order; the caller puts the results back in the dataset's order. Dask
(`distributed`) is the engine for a cluster: a `LocalCluster` on one machine, or a scheduler
started with `dask scheduler` and workers with `dask worker ADDRESS` on many. The function
and its arguments must be importable on the workers (hostguard installed there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


class InProcess:
    """One shard after the other in this process (`--workers 1`)."""

    name = "in-process"

    def run(self, function: Callable, items: Sequence, *args: Any) -> Iterator[Any]:
        for item in items:
            yield function(item, *args)

    def close(self) -> None:
        pass


class ProcessPool:
    """A pool of local worker processes, one shard per task."""

    name = "process-pool"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def run(self, function: Callable, items: Sequence, *args: Any) -> Iterator[Any]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        futures = [self._pool.submit(function, item, *args) for item in items]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskCluster:
    """Shards as tasks on a Dask cluster: a scheduler address, or a `distributed.Client`."""

    name = "dask"

    def __init__(self, scheduler: Any, *, timeout: float = 10.0):
        from distributed import Client

        self._own = not isinstance(scheduler, Client)
        self.client = Client(scheduler, timeout=timeout) if self._own else scheduler

    def run(self, function: Callable, items: Sequence, *args: Any) -> Iterator[Any]:
        from distributed import as_completed as dask_completed

        # pure=False: a shard is hashed again if asked again (its bytes may differ by then)
        futures = [self.client.submit(function, item, *args, pure=False) for item in items]
        try:
            for future in dask_completed(futures):
                yield future.result()
                future.release()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._own:
            self.client.close()
