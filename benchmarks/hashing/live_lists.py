"""A list is live when its import ends: the first check after a big import, and `hostguard
scan` with a big list, against a warm check and an empty list (SQLite).

    .venv/bin/python -m benchmarks.hashing.live_lists [--entries 1000000] [--images 50]

1. Imports `--entries` random PDQ hashes into a new list, as `hostguard hashlist import` does
   (the import leaves the index snapshot written when it commits).
2. In a process serving checks (started before the import, as a web process is): the first
   `scan_images` of one image after the import commits, then the median of 20 more (warm). Target:
   the first within 2x of a warm one. For comparison, the same in a process that does not map
   snapshots and reads the list from the database (how every process did it before).
3. `hostguard scan` of `--images` JPEGs (a new process each run, wall clock), with the big
   list and with only an empty list; the difference per image. Target: at most 25 ms. For
   comparison, the same scan reading the list from the database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from sqlmodel import Session

from benchmarks.hashing.images import benign_image
from hostguard.db import make_engine, upgrade
from hostguard.hashing import service, snapshots

ROOT = Path(__file__).resolve().parents[2]

CHECKS = textwrap.dedent("""
    import json, os, statistics, sys, time
    from sqlmodel import Session
    from hostguard.db import make_engine
    from hostguard import instruments
    from hostguard.hashing import index, service, snapshots
    from hostguard.policy.load import load_policy
    from hostguard.runtime import Runtime

    url, directory, image = sys.argv[1], sys.argv[2], sys.argv[3]
    PROFILE = bool(os.environ.get("PROFILE_FIRST_CHECK"))
    if directory != "-":
        snapshots.configure(directory)  # as a web process does at start
    runtime = Runtime()
    policy = load_policy(None)
    data = open(image, "rb").read()
    engine = make_engine(url)

    def check():
        start = time.perf_counter()
        with Session(engine) as session:
            service.scan_images(session=session, runtime=runtime, images=[("a.jpg", data)],
                                policy=policy)
        return time.perf_counter() - start

    for _ in range(5):  # a process serving checks (the big list not imported yet)
        check()
    index.warm_up()  # waits for the warm-up thread that configure started, as at a real start
    instruments.observe_matching(0.0, algorithm="pdq")  # metrics: made at a web process's start
    print("ready", flush=True)
    sys.stdin.readline()  # the import has committed
    if PROFILE:
        import cProfile, pstats
        profile = cProfile.Profile()
        profile.enable()
    times = [check()]
    if PROFILE:
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    times += [check() for _ in range(20)]
    print(json.dumps({"first": times[0], "warm": statistics.median(times[1:])}), flush=True)
""")

SCAN_WITHOUT_SNAPSHOTS = textwrap.dedent("""
    import sys
    from hostguard.cli import hashing
    hashing.matching_runtime = hashing.get_runtime  # as before: no snapshots in the CLI
    from hostguard.cli import main
    main()
""")


def random_list(entries: int) -> bytes:
    raw = np.random.default_rng(0).integers(0, 2**63, size=(entries, 4), dtype=np.uint64)
    return b"\n".join(row.astype(">u8").tobytes().hex().encode() for row in raw) + b"\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], env: dict) -> tuple[float, str, float]:
    """Wall-clock seconds, output and CPU seconds (the process and its worker processes: on a
    shared, loaded machine the CPU time is the steadier figure)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-2000:])
    return elapsed, done.stdout, _children_cpu() - cpu


def best(args: list[str], env: dict, repeat: int) -> tuple[float, float]:
    """The lowest wall clock and the lowest CPU time of `repeat` runs."""
    runs = [run(args, env) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[2] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="scan runs per case (best is kept)")
    args = parser.parse_args()
    print(f"{args.entries:,} PDQ entries; load average {os.getloadavg()[0]:.1f}\n")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        url = f"sqlite:///{base / 'bench.db'}"
        index_dir = base / "index"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOSTGUARD_DATA_DIR": str(base),
            "HOSTGUARD_DATABASE_URL": url,
            "HOSTGUARD_ENV": "test",
        }
        engine = make_engine(url)
        upgrade(engine)
        images = base / "images"
        images.mkdir()
        for seed in range(args.images):
            buffer = io.BytesIO()
            benign_image(seed).save(buffer, "JPEG", quality=90)
            (images / f"{seed}.jpg").write_bytes(buffer.getvalue())
        with Session(engine) as session:  # an empty list: the scans' baseline
            service.import_list(
                session=session,
                actor="bench",
                name="empty",
                data=b"",
                algorithm="pdq",
                allow_empty=True,
            )
            session.commit()
        scan = [sys.executable, "-c", "from hostguard.cli import main; main()", "scan"]
        naive = [sys.executable, "-c", SCAN_WITHOUT_SNAPSHOTS, "scan"]
        files = [str(p) for p in sorted(images.iterdir())]
        empty = best([*scan, *files], env, args.repeat)

        checks = [sys.executable, "-c", CHECKS, url]
        servers = {
            name: subprocess.Popen(
                [*checks, directory, files[0]],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for name, directory in (("live", str(index_dir)), ("old", "-"))
        }
        for server in servers.values():
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        data = random_list(args.entries)
        snapshots.configure(index_dir)
        start = time.perf_counter()
        with Session(engine) as session:
            service.import_list(
                session=session, actor="bench", name="big", data=data, algorithm="pdq"
            )
            session.commit()
        imported = time.perf_counter() - start
        snapshots.configure(None)
        engine.dispose()
        print(f"import (snapshot written on commit): {imported:.1f} s\n")
        figures = {}
        for name, server in servers.items():  # one at a time, so they do not compete
            output, _ = server.communicate("go\n", timeout=600)
            figures[name] = json.loads(output.strip().splitlines()[-1])
        live, old = figures["live"], figures["old"]
        print("| first check after the import | first | warm (median of 20) | first / warm |")
        print("| --- | ---: | ---: | ---: |")
        for name, figures in (("mapped snapshot (now)", live), ("read from the database", old)):
            print(
                f"| {name} | {figures['first'] * 1000:.0f} ms | {figures['warm'] * 1000:.1f} ms "
                f"| {figures['first'] / figures['warm']:.1f}x |"
            )
        big = best([*scan, *files], env, args.repeat)
        before = best([*naive, *files], env, args.repeat)
        print(
            f"\n| `hostguard scan` of {args.images} images | wall clock | extra per image "
            "| CPU time | extra CPU per image |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| empty list | {empty[0]:.2f} s | - | {empty[1]:.2f} s | - |")
        for name, (wall, cpu) in (
            ("big list, mapped (now)", big),
            ("big list, read from the database (before)", before),
        ):
            extra_wall = (wall - empty[0]) / args.images * 1000
            extra_cpu = (cpu - empty[1]) / args.images * 1000
            print(
                f"| {name} | {wall:.2f} s | {extra_wall:.1f} ms | {cpu:.2f} s | {extra_cpu:.1f} ms |"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
