"""Load benchmark: pre-upload checks with one sample image each against a 1-million-entry PDQ list.

    .venv/bin/python -m benchmarks.load.run --database sqlite --workers 1 --duration 30
    .venv/bin/python -m benchmarks.load.run --database postgresql --workers 3 --duration 30

Sets up a scratch data dir and database (PostgreSQL: a scratch database on the server,
dropped afterwards), imports a list of random PDQ hashes (none of which matches the
sample, so every check scans the whole list), starts `hostguard serve` on 127.0.0.1 and
drives it with wrk (`apt-get install wrk`) for a bounded time. Reports throughput, errors
(socket errors and non-2xx answers), p50/p90/p99 latency and the memory of every server
process (RSS and PSS: PSS splits shared pages, such as a memory-mapped index, between the
processes that map them). Results are appended to benchmarks/load/results/results.jsonl.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from benchmarks.scratch import scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HOSTGUARD = [sys.executable, "-c", "from hostguard.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_jpeg(seed: int = 3) -> bytes:
    from benchmarks.hashing.images import benign_image, jpeg_bytes

    return jpeg_bytes(benign_image(seed), quality=90)


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def machine_speed() -> dict:
    """Fixed work timed on this machine (best of 7, nothing else of ours running).

    The same code has measured 35 % apart on this VM from one hour to the next; these two
    figures, taken before and after each run, say how fast the machine was then, so runs from
    different moments (and of different code) can be compared: the image libraries' part of
    hashing the sample image (decode, shrink, PDQ and pHash, none of hostguard's own code, so
    the figure stays comparable when hostguard's hashing changes), and a pure-Python loop
    (what the ORM and Flask do). Runs before 2026-12-04 19:00 UTC recorded `hash_sample_ms`
    instead, which timed hostguard's whole hash_file.
    """
    import io

    import imagehash
    import pdqhash
    from PIL import Image

    image = sample_jpeg()

    def libraries():
        decoded = Image.open(io.BytesIO(image)).convert("L")
        small = decoded.resize((384, 288), Image.Resampling.BILINEAR)
        pdqhash.compute_dihedral(np.asarray(small.convert("RGB")))
        imagehash.phash(decoded.resize((128, 96), Image.Resampling.BILINEAR))

    def best(fn) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return round(min(times) * 1000, 2)

    return {
        "image_libraries_ms": best(libraries),
        "python_loop_ms": best(lambda: sum(i * i for i in range(200_000))),
    }


def code_version() -> str:
    """The commit the server ran (short hash, "+changes" when the work tree differed)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "hostguard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if changed else "")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def memory(pid: int) -> dict:
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()

    def field(name: str) -> float:
        match = re.search(rf"^{name}:\s+(\d+) kB", rollup, flags=re.M)
        return round(int(match.group(1)) / 1024, 1) if match else 0.0

    cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
    return {
        "pid": pid,
        "rss_mb": field("Rss"),
        "pss_mb": field("Pss"),
        "role": "worker-process" if "main() worker" in cmd else "web",
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its backends do the database's work)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def cpu_seconds_alive(pids: list[int]) -> float:
    """Like cpu_seconds, for processes that may come and go (PostgreSQL backends)."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds([pid])
        except OSError:
            pass
    return total


def wait_ready(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def post_check(url: str, key: str, image_b64: str, revision: str) -> dict:
    body = json.dumps(
        {
            "uploader": {"id": "warm", "username": "warm"},
            "repo": {"id": "warm/model", "revision": revision},
            "sample_images": [{"path": "s.jpg", "content_base64": image_b64}],
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/uploads/check",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def prepare(
    data_dir: Path, entries: int, keys: int = 1, *, database_url: str | None = None
) -> tuple[dict, str]:
    """Initialise the database (`database_url`, else SQLite in `data_dir`), import the list,
    make the operator keys; returns (env, keys)."""
    url = database_url or f"sqlite:///{data_dir / 'hostguard.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTGUARD_")}
    env.update(
        {
            "HOSTGUARD_ENV": "test",
            "HOSTGUARD_DATA_DIR": str(data_dir),
            "HOSTGUARD_DATABASE_URL": url,
            "HOSTGUARD_LOG_LEVEL": "WARNING",
            "HOSTGUARD_RATELIMIT_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    subprocess.run([*HOSTGUARD, "init"], env=env, check=True, capture_output=True)
    rng = np.random.default_rng(0)
    raw = rng.bytes(32 * entries)
    list_file = data_dir / "list.txt"
    list_file.write_text("\n".join(raw[i : i + 32].hex() for i in range(0, len(raw), 32)) + "\n")
    started = time.perf_counter()
    subprocess.run(
        [*HOSTGUARD, "hashlist", "import", "bench-list", str(list_file), "--algorithm", "pdq"],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"imported {entries} entries in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    list_file.unlink()
    subprocess.run([*HOSTGUARD, "worker", "--once"], env=env, check=True, capture_output=True)
    made = [
        subprocess.run(
            [*HOSTGUARD, "apikey", "create", f"bench-{n}", "--scope", "operator"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        for n in range(keys)
    ]
    key = " ".join(m.stdout.strip().splitlines()[-1] for m in made)  # wrk rotates through them
    return env, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=30, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load first")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--keys",
        type=int,
        default=1,
        help="API keys to rotate through (each request updates its key's last use)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    code = code_version()
    with ExitStack() as scratch:  # the data dir and database, removed however the run ends
        data_dir = Path(
            scratch.enter_context(
                tempfile.TemporaryDirectory(prefix="hostguard-load-", ignore_cleanup_errors=True)
            )
        )
        database_url = None
        if args.database == "postgresql":
            database_url = scratch.enter_context(scratch_postgres("hostguard_bench"))
        env, key = prepare(data_dir, args.entries, args.keys, database_url=database_url)
        speed_before = machine_speed()  # before the server starts, which would slow it down
        image_b64 = base64.b64encode(sample_jpeg()).decode()
        (data_dir / "image.b64").write_text(image_b64)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server_env = {**env, "HOSTGUARD_ROLES": "api,matcher"}
        server = subprocess.Popen(
            [
                *HOSTGUARD,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_ready(url)
            answer = post_check(url, key.split()[0], image_b64, "warm-0")
            assert answer["decision"], answer
            wrk_env = {**os.environ, "HG_IMAGE_B64": str(data_dir / "image.b64"), "HG_API_KEY": key}

            def load(seconds: int) -> tuple[dict, float]:
                started = os.times()
                done = subprocess.run(
                    [
                        "wrk",
                        f"-t{min(2, args.connections)}",
                        f"-c{args.connections}",
                        f"-d{seconds}s",
                        "--timeout",
                        "10s",
                        "-s",
                        str(HERE / "check.lua"),
                        url,
                    ],
                    env=wrk_env,
                    capture_output=True,
                    text=True,
                    timeout=seconds + 60,
                )
                ended = os.times()
                line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON "))
                wrk_cpu = (ended.children_user + ended.children_system) - (
                    started.children_user + started.children_system
                )
                return json.loads(line.removeprefix("WRK_JSON ")), wrk_cpu

            # Every worker process maps the index and compiles the matching loop on its first
            # checks: a few seconds at full concurrency reach them all before anything is measured.
            load(args.warmup)
            load_before = os.getloadavg()[0]
            server_pids = [server.pid, *children(server.pid)]
            cpu_before = cpu_seconds(server_pids)
            db_before = cpu_seconds_alive(postgres_pids()) if args.database == "postgresql" else 0.0
            stats, wrk_cpu = load(args.duration)
            server_cpu = cpu_seconds(server_pids) - cpu_before
            db_cpu = (
                cpu_seconds_alive(postgres_pids()) - db_before
                if args.database == "postgresql"
                else 0.0
            )
            processes = [memory(server.pid)] + [memory(pid) for pid in children(server.pid)]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    speed_after = machine_speed()
    errors = sum(stats["errors"].values())
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code": code,  # recorded since 2026-12-06 13:00 UTC
        "database": args.database,
        "gunicorn_workers": args.workers,
        "threads": args.threads,
        "connections": args.connections,
        "list_entries": args.entries,
        "api_keys": args.keys,
        "requests": stats["requests"],
        "duration_s": round(stats["duration_s"], 1),
        "checks_per_s": round(stats["requests"] / stats["duration_s"], 1),
        "errors": errors,
        "error_detail": stats["errors"],
        "p50_ms": round(stats["p50_ms"], 1),
        "p90_ms": round(stats["p90_ms"], 1),
        "p99_ms": round(stats["p99_ms"], 1),
        "max_ms": round(stats["max_ms"], 1),
        "statuses": stats.get("statuses", {}),
        # CPU spent per check by the server, by PostgreSQL's processes and by wrk itself: what
        # one check costs the machine, whatever else was running
        "server_cpu_ms_per_check": round(server_cpu * 1000 / max(1, stats["requests"]), 1),
        "database_cpu_ms_per_check": round(db_cpu * 1000 / max(1, stats["requests"]), 1),
        "wrk_cpu_ms_per_check": round(wrk_cpu * 1000 / max(1, stats["requests"]), 2),
        "processes": processes,
        "machine": machine(),
        # other work on the machine skews the numbers: the 1-minute load average before the run
        "loadavg_before": round(load_before, 2),
        # how fast the machine was just before and just after (see machine_speed)
        "machine_speed": {"before": speed_before, "after": speed_after},
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    with open(results / "results.jsonl", "a") as fh:
        fh.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
