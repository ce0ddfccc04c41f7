"""Recall per everyday edit and false positives between distinct benign images, per algorithm.

The "list" holds the plain hash of each original (what a list provider would compute on the
full image); queries go through hostguard's own pipeline (reduced decode, EXIF, borders
trimmed, dihedral variants, frames). For every algorithm it prints recall per edit at a few
thresholds and, for every threshold, how many (query, other image) pairs would falsely match.

    .venv/bin/python -m benchmarks.hashing.evaluate [--images 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from benchmarks.hashing.images import EDITS, benign_image, jpeg_bytes
from hostguard.hashing.algorithms import ALGORITHMS, PERCEPTUAL
from hostguard.hashing.hasher import hash_blobs
from hostguard.hashing.index import hex_to_words

GRID = {"pdq": [16, 20, 24, 28, 31, 36, 40, 48, 56, 64], "64": list(range(0, 17))}


def min_distances(query_hashes: list[str], list_words: np.ndarray, bits: int) -> np.ndarray:
    """For one query file: the smallest distance from any of its hashes to each list entry."""
    if not query_hashes:
        return np.full(list_words.shape[0], bits + 1)
    q = hex_to_words(query_hashes, bits)
    d = np.bitwise_count(q[:, None, :] ^ list_words[None, :, :]).sum(axis=2)
    return d.min(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--out", default="benchmarks/hashing/results/evaluate.json")
    args = parser.parse_args()
    started = time.perf_counter()
    originals = [benign_image(seed) for seed in range(args.images)]
    listed = {
        name: [ALGORITHMS[name].hash_image(img).hash for img in originals] for name in PERCEPTUAL
    }
    blobs, owners, edits = [], [], []
    for i, img in enumerate(originals):
        blobs.append((f"{i}/original", jpeg_bytes(img, 95)))
        owners.append(i)
        edits.append("original")
        for edit, apply in EDITS.items():
            blobs.append((f"{i}/{edit}", apply(img)))
            owners.append(i)
            edits.append(edit)
    print(f"hashing {len(blobs)} files ...", flush=True)
    results = hash_blobs(blobs, PERCEPTUAL, workers=None)
    owners_arr = np.array(owners)
    report: dict = {"images": args.images, "files": len(blobs), "algorithms": {}}
    for name in PERCEPTUAL:
        alg = ALGORITHMS[name]
        words = hex_to_words(listed[name], alg.bits)
        dist = np.stack(
            [
                min_distances([h.hash for h in r.for_matching(name)], words, alg.bits)
                for r in results
            ]
        )
        own = dist[np.arange(len(results)), owners_arr]
        other = dist.copy()
        other[np.arange(len(results)), owners_arr] = alg.bits + 1
        other_min = other.min(axis=1)
        grid = GRID["pdq" if name == "pdq" else "64"]
        fp = {t: int((other <= t).sum()) for t in grid}
        recall = {}
        for edit in ["original", *EDITS]:
            mask = np.array([e == edit for e in edits])
            recall[edit] = {t: float((own[mask] <= t).mean()) for t in grid}
        report["algorithms"][name] = {
            "false_positive_pairs": fp,
            "pairs": int(other.size - len(results)),
            "closest_benign_distance": int(other_min.min()),
            "recall": recall,
        }
        print(f"\n## {name}  (closest distinct-image distance: {int(other_min.min())})")
        print("threshold | " + " | ".join(str(t) for t in grid))
        print("FP pairs  | " + " | ".join(str(fp[t]) for t in grid))
        for edit, row in recall.items():
            print(f"{edit:18}| " + " | ".join(f"{row[t]:.2f}" for t in grid))
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["python"] = platform.python_version()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"\n{report['seconds']} s; written to {args.out}")


if __name__ == "__main__":
    main()
