"""Images per second: the naive full-decode loop against hostguard's hasher, on 1024 px JPEGs.

.venv/bin/python -m benchmarks.hashing.throughput [--images 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from benchmarks.hashing.images import benign_image, jpeg_bytes
from hostguard.hashing.algorithms import ALGORITHMS, bits_to_hex
from hostguard.hashing.hasher import default_workers, hash_paths


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for seed in range(args.images):
            path = Path(folder) / f"{seed}.jpg"
            path.write_bytes(jpeg_bytes(benign_image(seed, (1024, 768)), quality=90))
            paths.append(str(path))
        naive_pdq: list[str] = []
        naive_phash: list[str] = []
        t_naive_pdq = timed(
            lambda: naive_pdq.extend(
                bits_to_hex(pdqhash.compute(np.asarray(Image.open(p).convert("RGB")))[0])
                for p in paths
            )
        )
        t_naive_phash = timed(
            lambda: naive_phash.extend(str(imagehash.phash(Image.open(p))) for p in paths)
        )
        ours: dict[str, list] = {}
        rows = []
        for label, algs, variants, workers in [
            ("pdq, primary hash, 1 process", ["pdq"], False, 1),
            ("pdq, primary hash, worker processes", ["pdq"], False, None),
            ("pdq, all 8 orientations + trimmed, worker processes", ["pdq"], True, None),
            ("phash, primary hash, 1 process", ["phash"], False, 1),
            ("phash, primary hash, worker processes", ["phash"], False, None),
        ]:
            results: list = []
            seconds = timed(
                lambda a=algs, v=variants, w=workers, r=results: r.extend(
                    hash_paths(paths, a, variants=v, workers=w)
                )
            )
            ours[label] = results
            rows.append((label, len(paths) / seconds))
    n = len(paths)
    print(f"{n} JPEGs of 1024x768, {default_workers()} worker processes available\n")
    print("| method | images/s | speed-up |")
    print("| --- | ---: | ---: |")
    print(f"| naive `pdqhash.compute` on a full decode | {n / t_naive_pdq:.1f} | 1.0x |")
    for label, rate in rows:
        if label.startswith("pdq"):
            print(f"| hostguard {label} | {rate:.1f} | {rate / (n / t_naive_pdq):.1f}x |")
    print(f"| naive `imagehash.phash(Image.open(p))` | {n / t_naive_phash:.1f} | 1.0x |")
    for label, rate in rows:
        if label.startswith("phash"):
            print(f"| hostguard {label} | {rate:.1f} | {rate / (n / t_naive_phash):.1f}x |")
    pdq_d = [
        ALGORITHMS["pdq"].distance(a, r.primary("pdq").hash)
        for a, r in zip(naive_pdq, ours["pdq, primary hash, worker processes"], strict=True)
    ]
    ph_d = [
        ALGORITHMS["phash"].distance(a, r.primary("phash").hash)
        for a, r in zip(naive_phash, ours["phash, primary hash, worker processes"], strict=True)
    ]
    print(
        f"\nbits differing from the full-decode hash: pdq median {statistics.median(pdq_d)}, "
        f"mean {statistics.mean(pdq_d):.1f}, max {max(pdq_d)} (of 256); "
        f"phash median {statistics.median(ph_d)}, max {max(ph_d)} (of 64)"
    )
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
