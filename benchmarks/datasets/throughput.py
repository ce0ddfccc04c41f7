"""Dataset scan throughput: the naive loop against hostguard in one process, a process pool and
a two-worker Dask LocalCluster, on the same generated parquet and WebDataset shards, matched
against a large PDQ list; images/s and peak memory, all in one run.

.venv/bin/python -m benchmarks.datasets.throughput [--images 5000] [--list 1000000]
    [--data DIR [--prepare]] [--modes naive,single,pool,dask,pool-tar,dask-tar]

With `--data DIR` the dataset and the installation with its list are made once in DIR and
kept (`--prepare` makes them and stops), so the measured runs can be made apart from that,
under an exclusive hold of the machine: `flock -x /work/machine.lock ...`.

Each configuration runs in a fresh process (`--run MODE`), so its peak memory (VmHWM of the
process, and of the largest worker) is its own. The start-up of a Dask LocalCluster, the
workers' import of hostguard and the building of the list's index (timed apart) are not
counted: a long-running installation has done them before any scan. CPU time per image is
the measuring process's and its workers' over the scan alone (Dask's workers report theirs).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS_PER_SHARD = 250  # 12+ shards at 3,000 images: enough tasks to keep two workers busy


def make_dataset(folder: Path, count: int) -> tuple[list[str], list[str]]:
    """`count` JPEGs of 256-512 px, in parquet shards (Image feature) and in tar shards."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.hashing.images import benign_image, jpeg_bytes

    rng = np.random.default_rng(7)
    parquet, tars = [], []
    for shard, start in enumerate(range(0, count, ROWS_PER_SHARD)):
        rows = []
        for seed in range(start, min(count, start + ROWS_PER_SHARD)):
            size = (int(rng.integers(256, 513)), int(rng.integers(256, 513)))
            rows.append(jpeg_bytes(benign_image(seed, size), quality=90))
        names = [f"{start + i:08d}.jpg" for i in range(len(rows))]
        image = pa.StructArray.from_arrays(
            [pa.array(rows, pa.binary()), pa.array(names, pa.string())], names=["bytes", "path"]
        )
        path = folder / f"train-{shard:05d}.parquet"
        pq.write_table(pa.table({"image": image}), path, row_group_size=100)
        parquet.append(str(path))
        tar = folder / f"shard-{shard:06d}.tar"
        with tarfile.open(tar, "w") as archive:
            for name, data in zip(names, rows, strict=True):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        tars.append(str(tar))
    return parquet, tars


def setup_database(data_dir: Path, entries: int) -> dict[str, str]:
    """A SQLite installation with one enabled PDQ list of `entries` random hashes."""
    env = {
        "HOSTGUARD_DATA_DIR": str(data_dir),
        "HOSTGUARD_DATABASE_URL": f"sqlite:///{data_dir}/hostguard.db",
        "HOSTGUARD_ENV": "test",
        "HOSTGUARD_LOG_JSON": "false",
    }
    os.environ.update(env)
    import hostguard.registry  # noqa: F401
    from hostguard.config import Settings
    from hostguard.hashing import service
    from hostguard.keys import ensure_keys
    from hostguard.runtime import Runtime

    settings = Settings()
    subprocess.run(
        [sys.executable, "-c", "from hostguard.cli import main; main()", "init"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    ensure_keys(settings)
    runtime = Runtime(settings)
    words = np.random.default_rng(1).integers(0, 2**63, (entries, 4), dtype=np.int64)
    hexes = "\n".join(w.astype(">u8").tobytes().hex() for w in words)
    with runtime.session() as session:
        service.import_list(session=session, actor="bench", name="big", data=hexes, algorithm="pdq")
    runtime.close()
    return env


def naive(sources: list[str]) -> int:
    """Pillow decode, `pdqhash.compute`, hashlib: what a script would do (no matching)."""
    import pdqhash
    import pyarrow.parquet as pq
    from PIL import Image

    count = 0
    for source in sources:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=64, columns=["image"]):
            for data in batch.column(0).field("bytes").to_pylist():
                hashlib.md5(data, usedforsecurity=False).hexdigest()
                hashlib.sha256(data).hexdigest()
                pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                count += 1
    return count


def run(mode: str, sources: list[str]) -> dict:
    from hostguard.config import Settings
    from hostguard.hashing.service import match_hashes
    from hostguard.runtime import Runtime
    from hostguard.workflows.dataset_scan import make_engine, scan_sources

    started, cpu_before = time.perf_counter(), _cpu_seconds()
    if mode == "naive":
        images = naive(sources)
        seconds = time.perf_counter() - started
        return _measured(mode, images, seconds, None, cpu_seconds=_cpu_seconds() - cpu_before)
    runtime = Runtime(Settings())
    # What a long-running installation has done before any scan: the list's index is built
    # (and its loops compiled) and the workers have imported hostguard. Timed apart.
    with runtime.session() as session:
        match_hashes(session=session, hashed=[], policy=runtime.policy)
    index_seconds = time.perf_counter() - started
    cluster = None
    if mode == "dask":
        from distributed import LocalCluster

        # as `dask worker` runs them: processes under a nanny, with the nanny's environment
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        engine = make_engine(workers=None, scheduler=cluster.scheduler_address)
        engine.client.run(_warm)
        workers_before = engine.client.run(_worker_usage)
    else:
        engine = make_engine(workers=2 if mode == "pool" else 1)
    cpu_before, own_before = _cpu_seconds(), _own_cpu_seconds()
    started = time.perf_counter()
    summary = scan_sources(runtime=runtime, sources=sources, engine=engine)
    seconds = time.perf_counter() - started
    worker_peak = None
    if cluster is not None:
        # the workers' own CPU over the scan, and this process's (client, scheduler, matching)
        after = engine.client.run(_worker_usage)
        used = sum(after[w][0] - workers_before[w][0] for w in after)
        used += _own_cpu_seconds() - own_before
        worker_peak = max(usage[1] for usage in after.values())
    engine.close()
    if cluster is not None:
        cluster.close()
    else:  # the pool's workers have ended: their CPU is counted as this process's children's
        used = _cpu_seconds() - cpu_before
    measured = _measured(
        mode,
        summary["images"],
        seconds,
        len(summary["matches"]),
        cpu_seconds=used,
        worker_peak_kb=worker_peak,
    )
    return {**measured, "index_seconds": index_seconds}


def _warm() -> None:
    import hostguard.workflows.dataset_scan  # noqa: F401


def _worker_usage() -> tuple[float, int]:
    """A Dask worker's CPU seconds so far and its peak resident memory (kB)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, _peak_kb()


def _peak_kb() -> int:
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the parent's
    return next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (pool and Dask workers,
    once closed): what a scan costs whatever else the machine is running."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measured(
    mode: str,
    images: int,
    seconds: float,
    matches,
    *,
    cpu_seconds: float,
    worker_peak_kb: int | None = None,
) -> dict:
    own = _peak_kb()
    children = (
        worker_peak_kb
        if worker_peak_kb is not None
        else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    return {
        "mode": mode,
        "images": images,
        "seconds": seconds,
        "cpu_ms_per_image": cpu_seconds * 1000 / max(images, 1),
        "matches": matches,
        "peak_mb": own / 1024,
        "worker_peak_mb": children / 1024,
    }


MODES = {
    "naive": ("parquet", "naive loop (Pillow full decode, `pdqhash.compute`, hashlib), 1 process"),
    "single": ("parquet", "hostguard, 1 process, parquet"),
    "pool": ("parquet", "hostguard, process pool of 2, parquet"),
    "dask": ("parquet", "hostguard, Dask LocalCluster of 2 workers, parquet"),
    "pool-tar": ("tar", "hostguard, process pool of 2, WebDataset tar"),
    "dask-tar": ("tar", "hostguard, Dask LocalCluster of 2 workers, WebDataset tar"),
}


def prepare(root: Path, images: int, entries: int) -> dict:
    """The dataset and the installation in `root`, made unless already made for these sizes."""
    made = root / "prepared.json"
    if made.exists():
        prepared = json.loads(made.read_text())
        if (prepared["images"], prepared["entries"]) == (images, entries):
            return prepared
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    parquet, tars = make_dataset(root, images)
    print(f"generated {images} images in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    env = setup_database(root / "var", entries)
    print(f"imported {entries} PDQ hashes in {time.perf_counter() - t:.0f} s", flush=True)
    prepared = {"images": images, "entries": entries, "parquet": parquet, "tar": tars, "env": env}
    made.write_text(json.dumps(prepared))
    return prepared


def measure(prepared: dict, modes: list[str]) -> list[dict]:
    results = []
    for mode in modes:
        kind, label = MODES[mode]
        load_before = os.getloadavg()[0]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.datasets.throughput",
                "--run",
                mode.removesuffix("-tar"),
                "--sources",
                *prepared[kind],
            ],
            env={**os.environ, **prepared["env"]},
            capture_output=True,
            text=True,
        )
        if out.returncode:
            sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        measured.update(label=label, key=mode, load=(load_before, os.getloadavg()[0]))
        results.append(measured)
        print(json.dumps(measured), flush=True)
    return results


def table(results: list[dict], images: int, entries: int) -> None:
    rates = {r["key"]: r["images"] / r["seconds"] for r in results}
    naive_rate, pool_rate = rates.get("naive"), rates.get("pool")
    print(
        f"\n{images} JPEGs of 256-512 px, {entries:,}-entry PDQ list; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n"
    )
    print(
        "| method | images/s | vs naive | vs pool | CPU ms per image "
        "| peak RSS (main / largest worker) | load average (before / after) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        rate = rates[r["key"]]
        pool = rates.get("pool-tar" if r["key"].endswith("-tar") else "pool") or pool_rate
        versus_naive = f"{rate / naive_rate:.1f}x" if naive_rate else "-"
        versus_pool = f"{rate / pool:.2f}" if pool else "-"
        print(
            f"| {r['label']} | {rate:.0f} | {versus_naive} | {versus_pool} | "
            f"{r['cpu_ms_per_image']:.2f} | {r['peak_mb']:.0f} MB / {r['worker_peak_mb']:.0f} MB "
            f"| {r['load'][0]:.1f} / {r['load'][1]:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--list", type=int, default=1_000_000, dest="entries")
    parser.add_argument("--data", default=None, help="make (or reuse) the dataset here")
    parser.add_argument("--prepare", action="store_true", help="only make the dataset")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--run", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sources", nargs="*", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run, args.sources)))
        return
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        sys.exit(f"unknown modes: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as folder:
        prepared = prepare(Path(args.data or folder), args.images, args.entries)
        if args.prepare:
            return
        results = measure(prepared, modes)
    table(results, args.images, args.entries)


if __name__ == "__main__":
    main()
