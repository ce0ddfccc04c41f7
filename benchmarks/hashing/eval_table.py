"""Render benchmarks/hashing/results/evaluate.json as the README's Markdown tables."""

from __future__ import annotations

import json
import sys

from hostguard.hashing.algorithms import ALGORITHMS

report = json.load(
    open(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/hashing/results/evaluate.json")
)
algs = report["algorithms"]
defaults = {}
for name, data in algs.items():  # the default, or the nearest evaluated threshold below it
    grid = sorted(int(t) for t in data["false_positive_pairs"])
    defaults[name] = max(t for t in grid if t <= ALGORITHMS[name].default_threshold)
print("Recall at the default threshold (share of edited copies matched):\n")
print("| edit | " + " | ".join(f"{n} (≤{defaults[n]})" for n in algs) + " |")
print("| --- |" + " ---: |" * len(algs))
for edit in next(iter(algs.values()))["recall"]:
    print(
        f"| {edit} | "
        + " | ".join(f"{algs[n]['recall'][edit][str(defaults[n])]:.2f}" for n in algs)
        + " |"
    )
print("\nFalse-positive pairs between distinct images, by threshold:\n")
for name, data in algs.items():
    row = ", ".join(f"≤{t}: {c}" for t, c in data["false_positive_pairs"].items())
    print(
        f"- **{name}** (of {data['pairs']:,} pairs; closest distinct image at {data['closest_benign_distance']}): {row}"
    )
