"""Query latency and memory of the PDQ indexes with 10 million entries on one core.

    .venv/bin/python -m benchmarks.hashing.index_query [--entries 10000000] [--kind both]

Measures the brute-force `HammingIndex` (32 + 4 bytes per entry) and the multi-index
`MultiIndex` (the same arrays plus 64 bytes per entry of chunk tables) on the same random
hashes: one query at a time, 16 queries at once (one image's variants), build time, memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from hostguard.hashing.index import HammingIndex, MultiIndex


def measure(index: HammingIndex, queries: list[str], targets, entries: int) -> dict:
    index.query(queries[:1], 31)  # warm-up
    single = []
    for q, t in zip(queries, targets, strict=True):
        t0 = time.perf_counter()
        found = index.query([q], 31)
        single.append(time.perf_counter() - t0)
        assert [m.entry for m in found] == [int(t)], found
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        index.query(queries[:16], 31)
        batches.append(time.perf_counter() - t0)
    return {
        "median_ms": round(statistics.median(single) * 1000, 2),
        "p90_ms": round(sorted(single)[int(len(single) * 0.9)] * 1000, 2),
        "batch16_ms": round(statistics.median(batches) * 1000, 1),
        "nbytes_mb": round(index.nbytes / 1e6),
        "bytes_per_entry": round(index.nbytes / entries, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--kind", choices=["both", "brute", "multi"], default="both")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**64, size=(args.entries, 4), dtype=np.uint64, endpoint=False)
    ids = np.arange(args.entries, dtype=np.int64)
    targets = rng.integers(0, args.entries, args.queries)
    queries = []
    for t in targets:  # each query is a stored hash with 20 bits flipped: one true match
        value = int("".join(f"{int(words[t, w]):016x}" for w in range(4)), 16)
        for bit in rng.choice(256, 20, replace=False):
            value ^= 1 << int(bit)
        queries.append(f"{value:064x}")
    results = {"entries": args.entries, "loadavg": round(os.getloadavg()[0], 2)}
    if args.kind in ("both", "brute"):
        started = time.perf_counter()
        brute = HammingIndex.from_arrays(words, ids, bits=256)
        results["brute"] = {
            "build_s": round(time.perf_counter() - started, 2),
            **measure(brute, queries, targets, args.entries),
        }
        del brute
    if args.kind in ("both", "multi"):
        started = time.perf_counter()
        multi = MultiIndex.from_arrays(words, ids, bits=256)
        results["multi"] = {
            "build_s": round(time.perf_counter() - started, 2),
            **measure(multi, queries, targets, args.entries),
        }
    results["loadavg_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
