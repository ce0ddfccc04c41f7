"""Render benchmarks/hashing/results/evaluate.json as the docs' Markdown tables, one per set."""

from __future__ import annotations

import json
import sys

from hostguard.hashing.algorithms import ALGORITHMS

report = json.load(
    open(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/hashing/results/evaluate.json")
)
sets = report.get("sets") or {"generated": report}  # older reports held one set
for set_name, data in sets.items():
    algs = data["algorithms"]
    defaults = {}
    for name, scores in algs.items():  # the default, or the nearest evaluated threshold below it
        grid = sorted(int(t) for t in scores["false_positive_pairs"])
        defaults[name] = max(t for t in grid if t <= ALGORITHMS[name].default_threshold)
    print(
        f"**{set_name}** ({data['images']} images, {data['files']} query files): recall at the "
        "default threshold (share of edited copies matched):\n"
    )
    print("| edit | " + " | ".join(f"{n} (≤{defaults[n]})" for n in algs) + " |")
    print("| --- |" + " ---: |" * len(algs))
    for edit in next(iter(algs.values()))["recall"]:
        print(
            f"| {edit} | "
            + " | ".join(f"{algs[n]['recall'][edit][str(defaults[n])]:.2f}" for n in algs)
            + " |"
        )
    print(f"\nFalse-positive pairs between distinct images ({set_name}), by threshold:\n")
    for name, scores in algs.items():
        row = ", ".join(f"≤{t}: {c}" for t, c in scores["false_positive_pairs"].items())
        print(
            f"- **{name}** (of {scores['pairs']:,} pairs; closest distinct image at "
            f"{scores['closest_benign_distance']}): {row}"
        )
    print()
