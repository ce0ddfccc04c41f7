"""Where shards are hashed: in this process, in a local process pool, or on a Dask cluster.

All three run the same function on the same shards and hand back each shard's result as it
completes, in whatever order; the caller puts the results back in the dataset's order. Dask
(`distributed`) is the engine for a cluster: a `LocalCluster` on one machine, or a scheduler
started with `dask scheduler` and workers with `dask worker ADDRESS` on many. The function
and its arguments must be importable on the workers (hostguard installed there).

Every worker process an engine starts (or is given, on a cluster) first calls
`steady_malloc`. Hashing an image allocates the same few buffers of 0.1-2 MB over and over
(the decoded frame, PDQ's sums); glibc serves them from its heap once it has seen them freed,
unless a malloc threshold was fixed, which a Dask nanny does for its workers
(`MALLOC_TRIM_THRESHOLD_=65536`, to hand memory back to the system sooner): then every such
buffer is a fresh `mmap`, 226 page faults per image, and a worker hashed at half the speed of
a pool's (2.8 ms of CPU per image against 1.4).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

# glibc's mallopt parameters, and the ceilings its dynamic thresholds rise to on 64-bit
# systems when nothing fixes them: blocks up to 32 MiB from the heap, and free memory at its
# top handed back once over twice that.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
_steady = False


def steady_malloc() -> bool:
    """Set glibc's malloc thresholds for a scan's worker process (once; False when this is not
    glibc). Fixed thresholds, as a Dask nanny sets them, make each of hashing's buffers a new
    `mmap` and its pages faulted in afresh for every image; these are the ceilings glibc's own
    dynamic thresholds rise to in a process left alone (a pool's worker), set explicitly, so
    every engine's workers hash at the same cost. At most 64 MiB of freed memory is kept."""
    global _steady
    if _steady:
        return True
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):  # not one with mallopt
        return False
    _steady = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _steady


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
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=steady_malloc)
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
        from hostguard.datasets.dask_plugin import SteadyMalloc

        # on every worker, now and any that joins later
        self.client.register_plugin(SteadyMalloc(), name="hostguard-steady-malloc")

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
