"""The client side of a dataset scan: images/s that one process matches against a large PDQ
list (`match_hashes` with the scan's `BucketedIndex`, as the scan calls it), given the
hashes workers send back.

.venv/bin/python -m benchmarks.datasets.matching [--images 2000] [--list 1000000]

This is what bounds a cluster scan whose workers send hashes to the client (see
docs/operators/datasets.md): the client must match as fast as all workers hash.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

from benchmarks.datasets.throughput import setup_database
from benchmarks.hashing.images import benign_image, jpeg_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--list", type=int, default=1_000_000, dest="entries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_database(Path(folder) / "var", args.entries)
        from hostguard.config import Settings
        from hostguard.hashing.hasher import hash_blobs
        from hostguard.hashing.service import match_hashes
        from hostguard.runtime import Runtime
        from hostguard.workflows.dataset_scan import ScanIndexes

        unique = [jpeg_bytes(benign_image(seed, (384, 320)), quality=90) for seed in range(200)]
        hashed = hash_blobs(
            [(f"{i}", data) for i, data in enumerate(unique)], ("md5", "sha256", "pdq"), workers=1
        )
        batch = (hashed * (args.images // len(hashed) + 1))[: args.images]
        wire = len(pickle.dumps(hashed)) / len(hashed)  # distinct images (pickle memoizes)
        runtime = Runtime(Settings())
        index, policy = ScanIndexes(), runtime.policy
        with runtime.session() as session:
            # builds the list's index and the scan's copy, compiles the loops
            match_hashes(session=session, hashed=batch[:10], policy=policy, index=index)
            started = time.process_time()
            for start in range(0, len(batch), 2000):
                chunk = batch[start : start + 2000]
                match_hashes(session=session, hashed=chunk, policy=policy, index=index)
            seconds = time.process_time() - started
        queries = sum(len(h.for_matching("pdq")) for h in batch)
        print(
            f"{args.images} images ({queries / len(batch):.1f} PDQ queries each, "
            f"{wire:.0f} bytes pickled each) against {args.entries:,} PDQ entries: "
            f"{len(batch) / seconds:.0f} images per CPU second matched by one process"
        )


if __name__ == "__main__":
    main()
