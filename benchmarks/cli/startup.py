"""CPU and wall time of starting the `hostguard` command line, each run in a fresh process.

    .venv/bin/python -m benchmarks.cli.startup [--runs 15] [--check]

Times `hostguard --help` and `hostguard version` (which import no command module), a command
whose own help loads its module (`hostguard hashlist --help`), and, for comparison, the old
eager start: importing every command module before showing `--help`. Prints a Markdown table
of the medians; CPU is user + sys of the child process (`os.wait4`). `--check` exits 1 when
the median CPU of `--help` or `version` is over 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from hostguard.cli.base import COMMANDS

LIMIT_CPU_S = 0.3
HOSTGUARD = [sys.executable, "-c", "from hostguard.cli import main; main()"]
EVERY_MODULE = sorted({entry.module for entry in COMMANDS.values()})
EAGER = [
    sys.executable,
    "-c",
    f"import {', '.join(EVERY_MODULE)}; from hostguard.cli import main; main()",
]
CASES: list[tuple[str, list[str], bool]] = [
    # label, argv, held to LIMIT_CPU_S by --check
    ("hostguard --help", [*HOSTGUARD, "--help"], True),
    ("hostguard version", [*HOSTGUARD, "version"], True),
    ("hostguard hashlist --help (loads its module)", [*HOSTGUARD, "hashlist", "--help"], False),
    ("every command module, then --help (the old eager start)", [*EAGER, "--help"], False),
    ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"], False),
]


def run_once(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds, user + sys, and wall seconds) of one run of argv in a fresh process."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"{argv[-1]} exited {process.returncode}: {stderr.read().decode()}")
    return usage.ru_utime + usage.ru_stime, wall


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per command")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 when --help or version takes over {LIMIT_CPU_S} s CPU (median)",
    )
    args = parser.parse_args()

    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in CASES}
    for _, argv, _ in CASES:
        run_once(argv)  # warm the page cache and the bytecode caches
    for _ in range(args.runs):  # round robin, so a noisy moment spreads over every command
        for label, argv, _ in CASES:
            samples[label].append(run_once(argv))

    print(
        f"{cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{args.runs} runs each\n"
    )
    print("| command | CPU median (user+sys) | CPU min | wall median |")
    print("| --- | ---: | ---: | ---: |")
    over = []
    for label, _, checked in CASES:
        cpu = [c for c, _ in samples[label]]
        wall = [w for _, w in samples[label]]
        median_cpu = statistics.median(cpu)
        print(
            f"| {label} | {median_cpu * 1000:.0f} ms | {min(cpu) * 1000:.0f} ms "
            f"| {statistics.median(wall) * 1000:.0f} ms |"
        )
        if checked and median_cpu > LIMIT_CPU_S:
            over.append(f"{label}: {median_cpu:.3f} s CPU")
    if args.check and over:
        print(f"\nover {LIMIT_CPU_S} s CPU: " + "; ".join(over), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
