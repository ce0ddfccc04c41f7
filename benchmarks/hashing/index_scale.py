"""The PDQ multi-index at 10 M and 100 M entries on one core: memory, build, query, exactness.

    .venv/bin/python -m benchmarks.hashing.index_scale --entries 10000000
    .venv/bin/python -m benchmarks.hashing.index_scale --entries 100000000

Random PDQ hashes, generated in chunks of 5 M, plus planted near-duplicates: 2,000 base hashes
each with four copies 4, 12, 24 and 31 bits away. Queries are base hashes with 8 more bits
flipped (so each has planted copies up to 39 bits away, all at or within 31 found) and fresh
random hashes. Reports peak RSS (the process: input array plus index and build temporaries),
the index's own bytes per entry, build time, p50/p99 of one query and of 16 queries at once
(threshold 31, pinned to one core), and exactness: the answers for a sample of queries compared
with a compiled linear scan of the input array. The same index is also timed looking the
queries up one by one (each a batch of one: what the lookup cost before batches were looked up
at once, whose one-at-a-time loop was then dropped), between two series of the batch lookup,
and its answers checked the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numba
import numpy as np

from hostguard.hashing.index import ChunkIndex, HammingIndex, MultiIndex, _bits

CHUNK = 5_000_000
PLANTED_BASES = 2_000
PLANTED_FLIPS = (4, 12, 24, 31)


@numba.njit(nogil=True, cache=True)
def _linear(words, queries, threshold):  # pragma: no cover - compiled
    """(query, row, distance) of every row within threshold: the reference answer."""
    out = []
    for row in range(words.shape[0]):
        for q in range(queries.shape[0]):
            d = (
                _bits(words[row, 0] ^ queries[q, 0])
                + _bits(words[row, 1] ^ queries[q, 1])
                + _bits(words[row, 2] ^ queries[q, 2])
                + _bits(words[row, 3] ^ queries[q, 3])
            )
            if d <= threshold:
                out.append((q, row, d))
    return out


def _flip(rng, word_rows: np.ndarray, count: int) -> np.ndarray:
    out = word_rows.copy()
    for i in range(out.shape[0]):
        for bit in rng.choice(256, count, replace=False):
            out[i, bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return out


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _huge_pages_kb() -> int:
    """This process's anonymous memory in transparent huge pages (Linux), in kB."""
    try:
        for line in open("/proc/self/smaps_rollup", encoding="utf-8"):
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _percentiles(samples: list[tuple[float, float]]) -> dict:
    if not samples:
        return {}
    wall = np.array([w for w, _ in samples]) * 1000
    cpu = np.array([c for _, c in samples]) * 1000
    return {
        "wall_p50_ms": round(float(np.percentile(wall, 50)), 2),
        "wall_p99_ms": round(float(np.percentile(wall, 99)), 2),
        "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2),
        "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 2),
    }


def _timed(index, queries: np.ndarray, singles: int, batches: int, batched: bool = True) -> dict:
    """Wall clock and this thread's CPU time per call: on a shared machine the wall clock
    includes waiting for the core, the CPU time is what the query costs."""

    def call(rows):
        w, c = time.perf_counter(), time.thread_time()
        if isinstance(index, MultiIndex):
            if batched:
                index.query_words(rows, 31)
            else:
                _one_by_one(index, rows)
        else:
            index.query([r.astype(">u8").tobytes().hex() for r in rows], 31)
        return time.perf_counter() - w, time.thread_time() - c

    call(queries[:16])  # compile/warm
    one = [call(queries[i % len(queries) : i % len(queries) + 1]) for i in range(singles)]
    sixteen = []
    for i in range(batches):
        at = (i * 16) % (len(queries) - 16)
        sixteen.append(call(queries[at : at + 16]))
    return {"one_query": _percentiles(one), "batch_of_16": _percentiles(sixteen)}


def _one_by_one(index: MultiIndex, queries: np.ndarray) -> list[tuple[int, int, int]]:
    """(query, entry, distance) of each query looked up alone, as a batch of one."""
    return [
        (q, m.entry, m.distance)
        for q in range(len(queries))
        for m in index.query_words(queries[q : q + 1], 31)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--singles", type=int, default=400)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--exact-sample", type=int, default=48)
    parser.add_argument(
        "--compare-chunk",
        action="store_true",
        help="also build the previous layout (16-bit chunks, 100 bytes per entry) on the same "
        "hashes and time it the same way (10 M: about 1 GB more)",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    n = args.entries
    rng = np.random.default_rng(18)
    started = time.perf_counter()
    words = np.empty((n, 4), dtype=np.uint64)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        words[start:stop] = rng.integers(0, 2**64, size=(stop - start, 4), dtype=np.uint64)
    bases = rng.integers(0, 2**64, size=(PLANTED_BASES, 4), dtype=np.uint64)
    places = rng.choice(n, PLANTED_BASES * len(PLANTED_FLIPS), replace=False)
    for k, flips in enumerate(PLANTED_FLIPS):
        words[places[k * PLANTED_BASES : (k + 1) * PLANTED_BASES]] = _flip(rng, bases, flips)
    ids = np.arange(1, n + 1, dtype=np.uint32)
    generated_s = time.perf_counter() - started
    near = _flip(rng, bases[:1000], 8)  # planted copies 4..39 bits away
    fresh = rng.integers(0, 2**64, size=(1000, 4), dtype=np.uint64)
    queries = np.concatenate([near[:500], fresh[:500], near[500:], fresh[500:]])

    sample = np.concatenate([near[: args.exact_sample // 2], fresh[: args.exact_sample // 2]])
    started = time.perf_counter()
    truth = sorted((int(q), int(ids[r]), int(d)) for q, r, d in _linear(words, sample, 31))
    linear_s = time.perf_counter() - started

    load_before = os.getloadavg()
    started, cpu = time.perf_counter(), time.thread_time()
    index = MultiIndex.from_arrays(words, ids)
    build_s, build_cpu_s = time.perf_counter() - started, time.thread_time() - cpu
    peak_build = _rss_gb()
    got = sorted((m.query, m.entry, m.distance) for m in index.query_words(sample, 31))
    timings = _timed(index, queries, args.singles, args.batches)
    # the lookup before batching (each query in turn), same index, same queries, same run
    sequential = _timed(index, queries, args.singles // 2, args.batches // 2, batched=False)
    timings = {
        **timings,
        "batch_of_16_again": _timed(index, queries, 0, args.batches // 2)["batch_of_16"],
    }
    got_sequential = sorted(_one_by_one(index, sample))
    chunk = None
    if args.compare_chunk:
        started = time.perf_counter()
        previous = ChunkIndex.from_index(HammingIndex.from_arrays(words, ids, bits=256))
        chunk = {
            "build_s": round(time.perf_counter() - started, 1),
            "bytes_per_entry": round(previous.nbytes / n, 2),
            **_timed(previous, queries, args.singles // 4, args.batches // 4),
        }
        del previous
    huge_before = _huge_pages_kb()
    del words
    result = {
        "entries": n,
        "machine": f"{_cpu_model()}, {os.cpu_count()} vCPU",
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "generate_s": round(generated_s, 1),
        "build_s": round(build_s, 1),
        "build_cpu_s": round(build_cpu_s, 1),
        "bucket_bits": index.hb,
        "index_gb": round(index.nbytes / 1e9, 2),
        "bytes_per_entry": round(index.nbytes / n, 2),
        "peak_rss_gb": round(max(peak_build, _rss_gb()), 2),
        **timings,
        "sequential_lookup_same_run": sequential,
        "exact_sample": {
            "queries": len(sample),
            "matches": len(truth),
            "identical_to_linear_scan": got == truth,
            "sequential_identical_to_linear_scan": got_sequential == truth,
            "linear_scan_s": round(linear_s, 1),
            "linear_scan_ms_per_query": round(linear_s * 1000 / len(sample), 1),
        },
    }
    # Anonymous memory in 2 MB pages (numpy asks for them on large arrays; the kernel gives
    # them when it has them): fewer TLB misses for the lookup's random reads
    result["anon_huge_pages_gb"] = round(huge_before / 1e6, 2)
    if chunk is not None:
        result["previous_chunk_index_same_run"] = chunk
    print(json.dumps(result, indent=2))
    assert got == truth, "multi-index answer differs from the linear scan"


if __name__ == "__main__":
    main()
