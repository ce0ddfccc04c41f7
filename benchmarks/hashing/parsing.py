"""List-file parsing: speed of the vectorised path, and that it answers like the line rules.

    .venv/bin/python -m benchmarks.hashing.parsing [--entries 1000000] [--trials 300]

First checks, on random mixes of good and bad lines (upper case, `0x`, comments, notes,
short, non-hex, non-ASCII, all-zero, duplicates, CRLF, odd line breaks, ThreatExchange
labels and wrong types), that `parse_list_file` gives exactly the entries, errors and
duplicate count of a plain line-by-line reference; then times a million-line file in the
plain-text and ThreatExchange formats.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from hostguard.hashing import listfiles
from hostguard.hashing.algorithms import ALGORITHMS


def reference(text: str, algorithm, fmt: str) -> listfiles.ParsedList:
    """The line-by-line rules, one line at a time (what the vectorised path must equal)."""
    result = listfiles.ParsedList(format=listfiles.ListFormat(fmt))
    seen: set[str] = set()

    def accept(line, value, entry_id=None, label=None):
        if not isinstance(value, str):
            result.reject(line, "no hash on this line")
            return
        try:
            normalised = algorithm.validate(value)
        except listfiles.InvalidHash as exc:
            result.reject(line, exc.message)
            return
        if normalised in seen:
            result.duplicates += 1
            return
        seen.add(normalised)
        result.entries.append(
            listfiles.ParsedEntry(
                line, normalised, listfiles._clean(entry_id), listfiles._clean(label)
            )
        )

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if fmt == "text":
            listfiles._parse_text_line(number, line, result, accept)
        else:
            listfiles._parse_threatexchange_line(number, line, algorithm, result, accept)
    return result


def random_line(rng: random.Random, value: str, length: int) -> str:
    k = rng.random()
    variants = [
        (0.40, value),
        (0.45, value.upper()),
        (0.50, "0x" + value),
        (0.55, value[:-1]),
        (0.60, "0" * length),
        (0.65, "# note"),
        (0.70, ""),
        (0.75, f"  {value} # x"),
        (0.80, value + " x"),
        (0.85, value[:-1] + "g"),
        (0.90, value[:-1] + "é"),
        (0.93, "\u2028" + value),
        (1.00, value + "\r"),
    ]
    return next(v for limit, v in variants if k < limit)


def check_equivalence(trials: int) -> int:
    rng = random.Random(5)
    checked = 0
    for name in ("pdq", "md5", "phash"):
        algorithm = ALGORITHMS[name]
        length = algorithm.hex_length
        pool = [f"{rng.getrandbits(length * 4):0{length}x}" for _ in range(50)]
        for fmt in ("text", "threatexchange"):
            for _ in range(trials):
                lines = []
                for _ in range(rng.randint(0, 40)):
                    line = random_line(rng, rng.choice(pool), length)
                    if fmt == "threatexchange" and line and not line.startswith("#"):
                        p = rng.random()
                        line = (
                            f"{name} {line}"
                            if p < 0.6
                            else f"PDQ {line}"
                            if p < 0.65
                            else f"photo_pdq {line}"
                            if p < 0.7
                            else f"md5 {line}"
                            if p < 0.75
                            else f"pdq  {line} label-{rng.randint(0, 3)}"
                            if p < 0.85
                            else f"{name} {line} lab"
                            if p < 0.95
                            else name
                        )
                    lines.append(line)
                sep = rng.choice(["\n", "\r\n"])
                text = sep.join(lines) + rng.choice(["", sep])
                got = listfiles.parse_list_file(text.encode(), algorithm, format=fmt)
                want = reference(text, algorithm, fmt)
                assert (got.entries, got.errors, got.error_count, got.duplicates) == (
                    want.entries,
                    want.errors,
                    want.error_count,
                    want.duplicates,
                ), (name, fmt, text)
                checked += 1
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args()
    print(
        f"{check_equivalence(args.trials)} random files parse exactly like the line-by-line rules"
    )
    raw = np.random.default_rng(0).bytes(32 * args.entries)
    for fmt, prefix in (("text", ""), ("threatexchange", "pdq ")):
        data = (
            "\n".join(prefix + raw[i : i + 32].hex() for i in range(0, len(raw), 32)) + "\n"
        ).encode()
        started = time.perf_counter()
        parsed = listfiles.parse_list_file(data, ALGORITHMS["pdq"], format=fmt)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        reference(data.decode(), ALGORITHMS["pdq"], fmt)
        line_by_line = time.perf_counter() - started
        print(
            f"{fmt}: {len(parsed.entries):,} entries in {seconds:.2f} s "
            f"(line by line: {line_by_line:.2f} s)"
        )


if __name__ == "__main__":
    main()
