"""Query latency and memory of the PDQ Hamming index with 10 million entries on one core.

    .venv/bin/python -m benchmarks.hashing.index_query [--entries 10000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np

from hostguard.hashing.index import HammingIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**64, size=(args.entries, 4), dtype=np.uint64, endpoint=False)
    started = time.perf_counter()
    index = HammingIndex.from_arrays(words, np.arange(args.entries, dtype=np.int64), bits=256)
    build = time.perf_counter() - started
    del words
    targets = rng.integers(0, args.entries, args.queries)
    queries = []
    for t in targets:  # each query is a stored hash with 20 bits flipped: one true match
        value = int("".join(f"{int(index.columns[w][t]):016x}" for w in range(4)), 16)
        for bit in rng.choice(256, 20, replace=False):
            value ^= 1 << int(bit)
        queries.append(f"{value:064x}")
    index.query(queries[:1], 31)  # warm-up
    single = []
    for q, t in zip(queries, targets, strict=True):
        t0 = time.perf_counter()
        found = index.query([q], 31)
        single.append(time.perf_counter() - t0)
        assert [m.entry for m in found] == [int(t)], found
    t0 = time.perf_counter()
    index.query(queries[:16], 31)
    batch16 = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"entries: {args.entries:,}  build from arrays: {build:.2f} s")
    print(f"one PDQ query, threshold 31, one core: median {statistics.median(single) * 1000:.1f} ms, "
          f"p90 {sorted(single)[int(len(single) * 0.9)] * 1000:.1f} ms, min {min(single) * 1000:.1f} ms")
    print(f"16 queries at once (one image's dihedral + trimmed variants): {batch16 * 1000:.0f} ms")
    print(f"index memory: {index.nbytes / 1e6:.0f} MB = {index.nbytes / args.entries:.1f} bytes per entry "
          f"(32 hash + {index.ids.itemsize} id); peak RSS {rss / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
