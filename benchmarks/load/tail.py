"""Tail latency of the embedded default: `hostguard serve` as shipped, on SQLite, 8 keep-alive clients.

    .venv/bin/python -m benchmarks.load.tail --duration 30
    .venv/bin/python -m benchmarks.load.tail --duration 30 --serve-args "--threads 8" --label old

Prepares (once, cached under --cache) a database holding a 1 M-entry PDQ list, then for each
run copies it to a scratch data dir and starts `hostguard serve` with no options and the
default roles (api, matcher and the worker process beside it), unless --serve-args says
otherwise. Against that one server it measures, in this order:

1. control: 8 keep-alive clients on GET /healthz (no database, no hashing): the tail that the
   machine, the clients and the HTTP stack add by themselves at this moment;
2. the Python client: 8 threads, each with one keep-alive `http.client` connection (it
   reconnects when the server closes), posting upload checks with one sample image, a new
   revision each time;
3. wrk (`apt-get install wrk`) with `check.lua`, 8 connections, the same checks.

Client-side p50/p90/p99 come from the clients; server-side ones from hostguard's own
request log (`duration_ms` of each POST /api/v1/uploads/check, from the request's first hook
to its last). The 1-minute load average is read before each phase. Results are appended to
benchmarks/load/results/tail.jsonl and printed.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.load.run import (
    HERE,
    HOSTGUARD,
    code_version,
    free_port,
    machine,
    prepare,
    sample_jpeg,
    wait_ready,
)

CHECK = "/api/v1/uploads/check"


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    p50, p90, p99 = (float(np.percentile(a, q)) for q in (50, 90, 99))
    return {
        "n": len(values),
        "p50_ms": round(p50, 1),
        "p90_ms": round(p90, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(float(a.max()), 1),
        "p99_over_p50": round(p99 / p50, 2) if p50 else None,
    }


def python_clients(
    port: int, *, seconds: float, clients: int, body_for, path: str, key: str | None
) -> dict:
    """`clients` threads, one keep-alive connection each, as many requests as they can."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    reconnects = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        counter = 0
        mine, wrong = [], []
        while time.monotonic() < stop:
            counter += 1
            body = body_for(n, counter)
            headers = {"Content-Type": "application/json"}
            if key:
                headers["Authorization"] = f"Bearer {key}"
            started = time.perf_counter()
            try:
                if body is None:
                    conn.request("GET", path, headers=headers)
                else:
                    conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    wrong.append(str(response.status))
                mine.append((time.perf_counter() - started) * 1000)
                if response.will_close:
                    conn.close()
                    with lock:
                        reconnects[0] += 1
            except (OSError, http.client.HTTPException) as exc:
                wrong.append(type(exc).__name__)
                conn.close()
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(wrong)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = percentiles(latencies)
    result.update(
        {
            "per_s": round(len(latencies) / seconds, 1),
            "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5],
            "closed_by_server": reconnects[0],
        }
    )
    return result


def wrk(port: int, *, seconds: int, clients: int, script_env: dict, path: str) -> dict:
    env = {**os.environ, **script_env, "HG_PATH": path}
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(HERE / ("get.lua" if path != CHECK else "check.lua")),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON "))
    stats = json.loads(line.removeprefix("WRK_JSON "))
    stats["per_s"] = round(stats["requests"] / stats["duration_s"], 1)
    stats["p99_over_p50"] = round(stats["p99_ms"] / stats["p50_ms"], 2) if stats["p50_ms"] else None
    for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
        stats[k] = round(stats[k], 1)
    return stats


def server_side(log_path: Path, since: int) -> tuple[dict, int]:
    """Percentiles of the server's own durations for the checks logged after byte `since`."""
    with open(log_path, "rb") as fh:
        fh.seek(since)
        data = fh.read()
    durations = []
    for raw in data.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if entry.get("route") == CHECK and entry.get("method") == "POST":
            durations.append(float(entry["duration_ms"]))
    return percentiles(durations), since + len(data)


def cached_database(cache: Path, entries: int) -> Path:
    """A data dir holding an initialised database with the list imported (made once)."""
    ready = cache / f"sqlite-{entries}"
    if (ready / "key").exists():
        return ready
    shutil.rmtree(ready, ignore_errors=True)
    ready.mkdir(parents=True)
    _env, key = prepare(ready, entries)
    (ready / "key").write_text(key)
    return ready


def one_run(args, base: Path, serve_args: list[str], label: str, code: str) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="hostguard-tail-"))
    shutil.copytree(base, data_dir, dirs_exist_ok=True)
    key = (data_dir / "key").read_text().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTGUARD_")}
    env.update(
        {
            "HOSTGUARD_ENV": "test",
            "HOSTGUARD_DATA_DIR": str(data_dir),
            "HOSTGUARD_DATABASE_URL": f"sqlite:///{data_dir / 'hostguard.db'}",
            "HOSTGUARD_LOG_LEVEL": "INFO",
            "HOSTGUARD_LOG_JSON": "true",
            "HOSTGUARD_RATELIMIT_ENABLED": "false",
            "PYTHONPATH": code or str(Path(__file__).resolve().parents[2]),
        }
    )
    port = free_port()
    log_path = data_dir / "server.log"
    log = open(log_path, "wb")
    server = subprocess.Popen(
        [*HOSTGUARD, "serve", "--port", str(port), *serve_args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    image_b64 = base64.b64encode(sample_jpeg()).decode()
    (data_dir / "image.b64").write_text(image_b64)
    script_env = {"HG_IMAGE_B64": str(data_dir / "image.b64"), "HG_API_KEY": key}

    def check_body(n: int, counter: int) -> bytes:
        who = (n * 7 + counter) % 50
        return json.dumps(
            {
                "uploader": {"id": f"py-{who}", "username": f"py{who}"},
                "repo": {"id": f"py{who}/model-{who}", "revision": f"{label}-{n}-{counter}"},
                "sample_images": [{"path": "sample.jpg", "content_base64": image_b64}],
            }
        ).encode()

    result: dict = {"label": label, "serve_args": serve_args, "code_dir": code or "this tree"}
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        # warm: every thread's first check maps the index and compiles the matching loop
        python_clients(
            port,
            seconds=args.warmup,
            clients=args.clients,
            body_for=check_body,
            path=CHECK,
            key=key,
        )
        offset = log_path.stat().st_size
        result["load_before_control"] = round(os.getloadavg()[0], 2)
        result["control_python"] = python_clients(
            port,
            seconds=args.control,
            clients=args.clients,
            body_for=lambda n, c: None,
            path="/healthz",
            key=None,
        )
        result["control_wrk"] = wrk(
            port, seconds=args.control, clients=args.clients, script_env={}, path="/healthz"
        )
        result["load_before_python"] = round(os.getloadavg()[0], 2)
        offset = log_path.stat().st_size
        result["python"] = python_clients(
            port,
            seconds=args.duration,
            clients=args.clients,
            body_for=check_body,
            path=CHECK,
            key=key,
        )
        result["python_server"], offset = server_side(log_path, offset)
        result["load_before_wrk"] = round(os.getloadavg()[0], 2)
        result["wrk"] = wrk(
            port, seconds=args.duration, clients=args.clients, script_env=script_env, path=CHECK
        )
        result["wrk_server"], offset = server_side(log_path, offset)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        if args.keep_logs:
            shutil.copy(log_path, Path(args.keep_logs) / f"server-{label}.log")
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def summary(result: dict) -> str:
    rows = []
    for part in ("control_python", "control_wrk", "python", "python_server", "wrk", "wrk_server"):
        s = result.get(part) or {}
        rows.append(
            f"  {part:15} n={s.get('n', s.get('requests'))} p50={s.get('p50_ms')} "
            f"p90={s.get('p90_ms')} p99={s.get('p99_ms')} max={s.get('max_ms')} "
            f"p99/p50={s.get('p99_over_p50')} /s={s.get('per_s', '')} "
            f"err={s.get('errors', '')} closed={s.get('closed_by_server', '')}"
        )
    return f"{result['label']} {result['serve_args']}\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per measured phase")
    parser.add_argument("--control", type=int, default=10, help="seconds of /healthz control")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--cache", default="/tmp/hostguard-tail-cache")
    parser.add_argument(
        "--serve-args",
        action="append",
        default=None,
        help="options for `hostguard serve` (repeat for several runs, '' for none)",
    )
    parser.add_argument("--label", action="append", default=None)
    parser.add_argument(
        "--code",
        action="append",
        default=None,
        help="a folder holding another version's hostguard package to serve (per run; '' for "
        "this tree), e.g. from `git archive OLD hostguard | tar -x -C /tmp/old`",
    )
    parser.add_argument("--keep-logs", default=None, help="copy server logs to this folder")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    base = cached_database(Path(args.cache), args.entries)
    runs = args.serve_args or [""]
    labels = args.label or [f"run{i}" for i in range(len(runs))]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    codes = args.code or [""] * len(runs)
    for serve_args, label, code in zip(runs, labels, codes, strict=True):
        result = one_run(args, base, shlex.split(serve_args), label, code)
        result.update(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                # the commit of this tree, or the folder a --code run served from
                "code": code_version() if not code else code,
                "clients": args.clients,
                "list_entries": args.entries,
                "machine": machine(),
            }
        )
        with open(out / "tail.jsonl", "a") as fh:
            fh.write(json.dumps(result) + "\n")
        print(summary(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
