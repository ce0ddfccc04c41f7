"""Where a dataset scan's CPU goes, per image: each step of hashing one of the throughput
benchmark's images timed apart, in this process, with the naive loop's steps beside them.

.venv/bin/python -m benchmarks.datasets.costs [--images 500] [--repeat 3] [--list 1000000]

CPU time (`time.process_time`), the best of `--repeat` passes over the same images, so what
else the machine runs changes it little. The images are the throughput benchmark's (JPEG,
quality 90, 256-512 px, the same seeds); the list is random hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import time

import numpy as np


def _images(count: int) -> list[bytes]:
    from benchmarks.hashing.images import benign_image, jpeg_bytes

    rng = np.random.default_rng(7)  # as throughput.make_dataset draws the sizes
    out = []
    for seed in range(count):
        size = (int(rng.integers(256, 513)), int(rng.integers(256, 513)))
        out.append(jpeg_bytes(benign_image(seed, size), quality=90))
    return out


def _best(function, items, repeat: int) -> float:
    """Best CPU ms per item of `function` over `items`."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            function(item)
        best = min(best, time.process_time() - started)
    return best * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--list", type=int, default=1_000_000, dest="entries")
    args = parser.parse_args()

    import pdqhash
    from PIL import Image

    from hostguard.hashing.algorithms import ALGORITHMS
    from hostguard.hashing.hasher import hash_file
    from hostguard.hashing.imaging import load_image, trim_border
    from hostguard.hashing.pdq import pdq_dihedral
    from hostguard.hashing.scan_index import BucketedIndex

    blobs = _images(args.images)
    frames = [load_image(b).frames[0] for b in blobs]
    trimmed = [t for t in (trim_border(f) for f in frames) if t is not None]
    pixels = [np.asarray(f) for f in frames]
    algorithms = ("md5", "sha256", "pdq")
    hashed = [hash_file("x.jpg", b, algorithms) for b in blobs]
    pdq_per_image = sum(1 for h in hashed for c in h.hashes if c.algorithm == "pdq") / len(blobs)

    def naive(data: bytes) -> None:
        hashlib.md5(data, usedforsecurity=False).hexdigest()
        hashlib.sha256(data).hexdigest()
        pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))

    def luma_only(data: bytes) -> None:
        image = Image.open(io.BytesIO(data))
        image.draft("L", None)
        image.load()

    rgb = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]
    steps = [
        ("naive: Pillow RGB decode", lambda b: Image.open(io.BytesIO(b)).convert("RGB"), blobs),
        ("naive: pdqhash.compute (one orientation)", pdqhash.compute, rgb),
        ("naive loop, whole", naive, blobs),
        ("md5 + sha256", lambda b: (hashlib.md5(b).digest(), hashlib.sha256(b).digest()), blobs),
        ("decode to luma only (Pillow draft L, no scaling)", luma_only, blobs),
        ("load_image (the luma decode, EXIF, reduce)", load_image, blobs),
        ("trim_border", trim_border, frames),
        ("pdq_dihedral, untrimmed frame", pdq_dihedral, pixels),
        (
            f"pdq_dihedral, trimmed frame ({len(trimmed)} of {len(frames)} images)",
            lambda t: pdq_dihedral(np.asarray(t)),
            trimmed or frames[:1],
        ),
        (
            "hash_file, whole (md5, sha256, pdq x 8 x trimmed)",
            lambda b: hash_file("x", b, algorithms),
            blobs,
        ),
        (
            "pickle + unpickle of one image's FileHashes",
            lambda h: pickle.loads(pickle.dumps(h)),
            hashed,
        ),
    ]
    print(
        f"{len(blobs)} JPEGs, {pdq_per_image:.1f} PDQ hashes per image; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for label, function, items in steps:
        print(f"{_best(function, items, args.repeat):7.3f} ms  {label}", flush=True)

    if args.entries:
        words = np.random.default_rng(1).integers(0, 2**63, (args.entries, 4), dtype=np.int64)
        index = BucketedIndex.from_arrays(words.view(np.uint64), np.arange(args.entries))
        queries = [
            [c.hash for c in h.hashes if c.algorithm == "pdq" and (c.quality or 0) >= 50]
            for h in hashed
        ]
        flat = [q for qs in queries for q in qs]
        index.query(flat[:10], 31)  # compile
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            for start in range(0, len(flat), 2000):
                index.query(flat[start : start + 2000], 31)
            best = min(best, time.process_time() - started)
        print(
            f"{best * 1000 / len(blobs):7.3f} ms  matching ({args.entries:,}-entry list, BucketedIndex)"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    _ = ALGORITHMS


if __name__ == "__main__":
    main()
