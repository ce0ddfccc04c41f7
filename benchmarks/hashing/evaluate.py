"""Recall per everyday edit and false positives between distinct images, per algorithm, on two
image sets: generated pictures and real photographs.

The "list" holds the plain hash of each original (what a list provider would compute on the
full image); queries go through hostguard's own pipeline (reduced decode, EXIF, borders
trimmed, dihedral variants, frames). A PDQ hash of quality below 50 (a flat image) counts as a
match only within the policy's stricter `matching.low_quality_pdq_threshold`, as in live scans.
For every algorithm it prints recall per edit at a few thresholds and, for every threshold,
how many (query, other image) pairs would falsely match.

The photographs are the ones scikit-image's wheel bundles (`benchmarks.hashing.images.
PHOTOGRAPHS`, read from disk: nothing is downloaded): 19 photographs, among them the
motion-blurred clock whose PDQ quality is 34.

    .venv/bin/python -m benchmarks.hashing.evaluate [--images 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.hashing.images import EDITS, benign_image, jpeg_bytes, photographs
from hostguard.hashing.algorithms import ALGORITHMS, PERCEPTUAL
from hostguard.hashing.hasher import hash_blobs
from hostguard.hashing.index import hex_to_words
from hostguard.policy.load import load_policy

GRID = {"pdq": [16, 20, 24, 28, 31, 36, 40, 48, 56, 64], "64": list(range(0, 17))}


def min_distances(query_hashes: list[str], list_words: np.ndarray, bits: int) -> np.ndarray:
    """For one query file: the smallest distance from any of its hashes to each list entry."""
    if not query_hashes:
        return np.full(list_words.shape[0], bits + 1)
    q = hex_to_words(query_hashes, bits)
    d = np.bitwise_count(q[:, None, :] ^ list_words[None, :, :]).sum(axis=2)
    return d.min(axis=0)


def evaluate(originals: list[Image.Image], strict: int) -> dict:
    """Hash every original's edits and match them against the originals' plain hashes."""
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
    rows = np.arange(len(results))
    report: dict = {"images": len(originals), "files": len(blobs), "algorithms": {}}
    for name in PERCEPTUAL:
        alg = ALGORITHMS[name]
        words = hex_to_words(listed[name], alg.bits)
        far = alg.bits + 1
        dist = np.stack(
            [
                min_distances([h.hash for h in r.for_matching(name)], words, alg.bits)
                for r in results
            ]
        )
        if name == "pdq" and strict:
            # flat images' hashes count only within the stricter threshold: beyond it, as if
            # they were not there (the thresholds on the grid above it see them at `strict`)
            flat = np.stack(
                [
                    min_distances([h.hash for h in r.low_quality_hashes(name)], words, alg.bits)
                    for r in results
                ]
            )
            dist = np.minimum(dist, np.where(flat <= strict, flat, far))
        own = dist[rows, owners_arr]
        other = dist.copy()
        other[rows, owners_arr] = far
        grid = GRID["pdq" if name == "pdq" else "64"]
        fp = {t: int((other <= t).sum()) for t in grid}
        recall = {}
        for edit in ["original", *EDITS]:
            mask = np.array([e == edit for e in edits])
            recall[edit] = {t: float((own[mask] <= t).mean()) for t in grid}
        report["algorithms"][name] = {
            "false_positive_pairs": fp,
            "pairs": int(other.size - len(results)),
            "closest_benign_distance": int(other.min()),
            "recall": recall,
        }
        print(f"\n## {name}  (closest distinct-image distance: {int(other.min())})")
        print("threshold | " + " | ".join(str(t) for t in grid))
        print("FP pairs  | " + " | ".join(str(fp[t]) for t in grid))
        for edit, row in recall.items():
            print(f"{edit:18}| " + " | ".join(f"{row[t]:.2f}" for t in grid))
    if "pdq" in PERCEPTUAL:
        qualities = [ALGORITHMS["pdq"].hash_image(img).quality for img in originals]
        report["low_quality_originals"] = sum(1 for q in qualities if q is not None and q < 50)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="generated images")
    parser.add_argument("--out", default="benchmarks/hashing/results/evaluate.json")
    args = parser.parse_args()
    started = time.perf_counter()
    strict = load_policy(None).matching.low_quality_pdq_threshold
    sets = {
        "generated": [benign_image(seed) for seed in range(args.images)],
        "photographs": list(photographs().values()),
    }
    report: dict = {"low_quality_pdq_threshold": strict, "sets": {}}
    for set_name, originals in sets.items():
        print(f"\n# {set_name}: {len(originals)} images", flush=True)
        report["sets"][set_name] = evaluate(originals, strict)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["python"] = platform.python_version()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"\n{report['seconds']} s; written to {args.out}")


if __name__ == "__main__":
    main()
