"""The same shards on a two-worker Dask LocalCluster, a process pool and in-process give the
same result, through the command line's own code path (`--scheduler`, `--workers`).

(The in-process engine's result is the one `test_scan_cli.py` checks row by row.)"""

from __future__ import annotations

import json

import pytest
from distributed import LocalCluster


def comparable(summary: dict) -> dict:
    claims = summary["attestation"]["attestation"]
    return {
        **{k: summary[k] for k in ("images", "unreadable", "matches", "unreadable_images")},
        "dataset": claims["dataset"],
        "counts": claims["counts"],
    }


@pytest.mark.slow
def test_dask_local_cluster_with_two_workers_gives_the_process_pools_result(cli, listed):
    pool = cli("dataset", "scan", "--json", "--workers", "2", *listed.sources)
    assert pool.exit_code == 1, pool.output
    # worker processes, as `dask worker` runs them on a cluster
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = cli(
            "dataset", "scan", "--json", "--scheduler", cluster.scheduler_address, *listed.sources
        )
        assert dask.exit_code == 1, dask.output
        assert len(cluster.scheduler.workers) == 2
    assert comparable(json.loads(dask.stdout)) == comparable(json.loads(pool.stdout))
    assert len(json.loads(dask.stdout)["matches"]) == 5


def _nanny_fixed_a_threshold() -> bool:
    import os

    return "MALLOC_TRIM_THRESHOLD_" in os.environ


def _minor_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.slow
def test_dask_workers_hash_without_faulting_in_fresh_pages_for_every_image(tmp_path):
    """A Dask nanny fixes glibc's malloc thresholds for its workers (MALLOC_TRIM_THRESHOLD_),
    which made each of hashing's buffers a fresh mmap: 226 page faults per image and twice a
    pool worker's CPU. The engine sets the thresholds back on every worker (a few per image)."""
    from benchmarks.hashing.images import benign_image, jpeg_bytes
    from hostguard.datasets.engines import DaskCluster
    from hostguard.datasets.sources import Shard
    from hostguard.hashing.imaging import DEFAULT_LIMITS
    from hostguard.workflows.dataset_scan import hash_shard
    from tests.datasets import builders

    count = 24
    built = builders.Built()
    path = tmp_path / "large.parquet"
    builders.write_image_feature(
        path, built, [jpeg_bytes(benign_image(seed, (480, 400))) for seed in range(count)]
    )
    shard = (0, Shard(kind="parquet", name=str(path), path=str(path)))
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        engine = DaskCluster(cluster.scheduler_address)
        try:
            assert all(engine.client.run(_nanny_fixed_a_threshold).values())
            args = (("md5", "sha256", "pdq"), DEFAULT_LIMITS)
            assert [r.images for r in engine.run(hash_shard, [shard], *args)] == [count]  # warm
            before = engine.client.run(_minor_faults)
            assert [r.images for r in engine.run(hash_shard, [shard], *args)] == [count]
            after = engine.client.run(_minor_faults)
        finally:
            engine.close()
    (worker,) = after
    assert (after[worker] - before[worker]) / count < 40


def test_steady_malloc_sets_glibcs_thresholds_once_per_process(monkeypatch):
    import ctypes

    from hostguard.datasets import engines
    from hostguard.datasets.dask_plugin import SteadyMalloc

    calls = []
    libc = ctypes.CDLL(None)

    def mallopt(parameter, value):
        calls.append((parameter, value))
        return libc.mallopt(parameter, value)

    class Libc:
        def __init__(self, name):
            assert name is None
            self.mallopt = mallopt

    monkeypatch.setattr(engines, "_steady", False)
    monkeypatch.setattr(engines.ctypes, "CDLL", Libc)
    SteadyMalloc().setup(worker=None)  # what each Dask worker runs
    assert engines.steady_malloc()  # once is enough
    assert calls == [(-3, 32 << 20), (-1, 64 << 20)]

    class NoMallopt:  # a C library without it (macOS, Windows): nothing to set
        def __init__(self, name):
            pass

    monkeypatch.setattr(engines, "_steady", False)
    monkeypatch.setattr(engines.ctypes, "CDLL", NoMallopt)
    assert engines.steady_malloc() is False
