"""Time to import one million PDQ hashes into a new list, on SQLite and on PostgreSQL.

    .venv/bin/python -m benchmarks.hashing.import_lists [--entries 1000000] [--postgres URL]

PostgreSQL: a scratch database is created on the server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sqlmodel import Session

from benchmarks.scratch import POSTGRES, scratch_postgres, scratch_sqlite
from hostguard.db import make_engine, upgrade
from hostguard.hashing import service


def run(url: str, data: bytes, replacement: bytes) -> tuple[float, float, float]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        start = time.perf_counter()
        with Session(engine) as session:
            summary = service.import_list(
                session=session, actor="bench", name="bench", data=data, algorithm="pdq"
            )
            session.commit()
        first = time.perf_counter() - start
        start = time.perf_counter()
        with Session(engine) as session:
            replaced = service.import_list(
                session=session, actor="bench", name="bench", data=replacement, replace=True
            )
            session.commit()
        second = time.perf_counter() - start
        with Session(engine) as session:
            hash_list = service.get_list(session=session, name="bench")
            start = time.perf_counter()
            service.clear_index_cache()
            service.index_for(session, hash_list)
            load = time.perf_counter() - start
        assert summary["added"] > 0 and replaced["removed"] > 0
        return first, second, load
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    raw = rng.bytes(32 * args.entries)
    hashes = [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]
    data = ("\n".join(hashes) + "\n").encode()
    # the replacement drops 1% and adds 1% new hashes
    keep = hashes[args.entries // 100 :]
    extra = [rng.bytes(32).hex() for _ in range(args.entries // 100)]
    replacement = ("\n".join(keep + extra) + "\n").encode()
    print(
        f"{args.entries:,} PDQ hashes, {len(data) / 1e6:.0f} MB text file; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    from hostguard.hashing.algorithms import get_algorithm
    from hostguard.hashing.listfiles import parse_list_file

    started = time.perf_counter()
    parse_list_file(data, get_algorithm("pdq"))
    print(f"parsing and validating the file alone: {time.perf_counter() - started:.1f} s\n")
    print("| database | import into a new list | --replace (1% removed, 1% added) | load index |")
    print("| --- | ---: | ---: | ---: |")
    with scratch_sqlite("bench.db") as url:
        first, second, load = run(url, data, replacement)
        print(f"| SQLite | {first:.1f} s | {second:.1f} s | {load:.1f} s |")
    with scratch_postgres("hostguard_bench", server=args.postgres) as url:
        first, second, load = run(url, data, replacement)
        print(f"| PostgreSQL | {first:.1f} s | {second:.1f} s | {load:.1f} s |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
