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
