"""Where the time of one pre-upload check goes, measured in one process without HTTP.

    .venv/bin/python -m benchmarks.load.breakdown [--entries 1000000] [--repeat 20]

Times, per check with one 640x480 JPEG sample image: hashing it with every algorithm (what
the check does), matching its PDQ hashes against an N-entry PDQ index (brute-force scan and
multi-index, which `build_index` picks for large lists), and a whole
`run_check` on SQLite with no lists (database work + hashing).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.hashing.images import benign_image, jpeg_bytes


def timed(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from hostguard.hashing.algorithms import ALGORITHMS
    from hostguard.hashing.hasher import hash_blobs
    from hostguard.hashing.index import HammingIndex, MultiIndex

    image = jpeg_bytes(benign_image(3), quality=90)
    hash_all = timed(lambda: list(hash_blobs([("s.jpg", image)], tuple(ALGORITHMS))), args.repeat)
    hash_pdq = timed(lambda: list(hash_blobs([("s.jpg", image)], ("pdq",))), args.repeat)
    (hashed,) = list(hash_blobs([("s.jpg", image)], ("pdq",)))
    queries = list(dict.fromkeys(h.hash for h in hashed.for_matching("pdq")))
    raw = np.random.default_rng(0).bytes(32 * args.entries)
    words = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 4)
    ids = np.arange(args.entries)
    brute = HammingIndex.from_arrays(words, ids, bits=256)
    match = timed(lambda: brute.query(queries, 31), max(3, args.repeat // 4))
    multi = MultiIndex.from_arrays(words, ids, bits=256)
    match_multi = timed(lambda: multi.query(queries, 31), args.repeat)

    from hostguard.config import Settings
    from hostguard.db import upgrade
    from hostguard.keys import ensure_keys
    from hostguard.runtime import Runtime
    from hostguard.uploads.check import CheckRequest
    from hostguard.workflows.upload_check import run_check

    settings = Settings(env="test", data_dir=Path(tempfile.mkdtemp()))
    ensure_keys(settings)
    runtime = Runtime(settings)
    upgrade(runtime.engine)
    counter = iter(range(10**9))

    def check():
        request = CheckRequest.model_validate(
            {
                "uploader": {"id": "u", "username": "u"},
                "repo": {"id": "u/m", "revision": f"r{next(counter)}"},
            }
        )
        with runtime.session() as session:
            run_check(
                session=session,
                runtime=runtime,
                actor="apikey:1",
                request=request,
                images=[("s.jpg", image)],
                policy=runtime.policy,
            )

    whole = timed(check, args.repeat)
    print(
        json.dumps(
            {
                "hash_all_algorithms_ms": round(hash_all, 1),
                "hash_pdq_only_ms": round(hash_pdq, 1),
                "pdq_queries_per_image": len(queries),
                "entries": args.entries,
                "match_pdq_brute_force_ms": round(match, 1),
                "match_pdq_multi_index_ms": round(match_multi, 2),
                "run_check_without_lists_ms": round(whole, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
