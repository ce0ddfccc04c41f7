"""An incremental exchange fetch applying 100,000 changes to a 1 M-entry list, code against code.

    # once, under a shared hold: the seeded databases (a SQLite file, a PostgreSQL template)
    flock -s /work/machine.lock .venv/bin/python -m benchmarks.exchanges.incremental_fetch --prepare
    # measured, under the exclusive hold: each code tree in turn on each database
    flock -x /work/machine.lock .venv/bin/python -m benchmarks.exchanges.incremental_fetch \\
        --code old=/tmp/hostguard-old --code new=.

The list is seeded as an exchange would leave it (1 M entries and the exchange's records) once
under `--cache` (SQLite) and as a PostgreSQL template database; each run copies it, so every
code tree starts from the same rows. A run then: maps the list's index once (the web
processes have the list loaded: the base version's snapshot is on disk), applies the changes
(half additions, half removals, shuffled) as an exchange delivers them, in pages of `--page`
records applied in groups with their checkpoint (`hostguard.exchanges.service.apply_pages`,
what `fetch_exchange` runs, without the network), then times how long one process needs to
have the new version ("until every web process matches": with index snapshots the writer
left it on disk and the others map it). Each run is a child process whose PYTHONPATH is the
code tree named by `--code LABEL=PATH`, so the old and the new code are measured by the same
harness, one after the other, in the same session. `--peer` adds the peer way: re-importing
a whole file over the list (`hashlist import --replace`, what a file exchange does), here the
seeded list over the changed one (as many changes, the other way).
`--profile FILE` writes a cProfile of the apply of each run (FILE.<label>.<database>).

Printed per run: wall clock and CPU of the applying process, CPU of its PostgreSQL backend
(read from /proc), and the 1-minute load average before the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _hashes(rng, count: int) -> list[str]:
    raw = rng.bytes(32 * count)
    return [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


def data(entries: int, changes: int) -> tuple[list[str], list[str], list[str]]:
    """The seeded list, the hashes added and the ones removed (the same on every call)."""
    rng = np.random.default_rng(0)
    base = _hashes(rng, entries)
    added = _hashes(rng, changes // 2)
    removed = base[: changes - len(added)]
    return base, added, removed


def _seed_name(entries: int) -> str:
    return f"hostguard_bench_exchange_seed_{entries}"


# --- the seeded databases (made once, under a shared hold) --------------------------------------


def seed(url: str, base: list[str]) -> None:
    """The 1 M-entry list an exchange fed, with its records, in a fresh database at `url`."""
    from sqlalchemy import text
    from sqlmodel import Session

    import hostguard.registry  # noqa: F401  (every table, for the migrations)
    from hostguard.db import is_postgres, make_engine, upgrade
    from hostguard.exchanges.models import Exchange
    from hostguard.hashing import service

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        service.import_list(
            session=session,
            actor="bench",
            name="feed",
            data=("\n".join(base) + "\n").encode(),
            algorithm="pdq",
        )
        exchange = Exchange(
            name="feed", type="stopncii", algorithm="pdq", settings={}, interval_seconds=900
        )
        session.add(exchange)
        session.flush()
        rows = [(exchange.id, f"pdq:{h}", h, None) for h in base]
        connection = session.connection()
        if is_postgres(connection):
            raw = connection.connection.dbapi_connection
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(
                    "COPY exchange_records (exchange_id, key, hash, label) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            connection.exec_driver_sql(
                "INSERT INTO exchange_records (exchange_id, key, hash, label) VALUES (?, ?, ?, ?)",
                rows,
            )
        session.commit()
    if engine.dialect.name == "postgresql":  # as autovacuum leaves a long-lived table
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def prepare(cache: Path, entries: int, changes: int, *, postgres: bool, sqlite: bool) -> None:
    from benchmarks.scratch import seeded_database

    base, _, _ = data(entries, changes)
    cache.mkdir(parents=True, exist_ok=True)
    seeded = cache / f"seed-{entries}.db"
    if sqlite and not seeded.exists():
        started = time.perf_counter()
        partial = cache / f"seed-{entries}.db.partial"
        partial.unlink(missing_ok=True)
        seed(f"sqlite:///{partial}", base)
        partial.rename(seeded)
        print(f"SQLite seed: {time.perf_counter() - started:.0f} s", flush=True)
    if not postgres:
        return
    started = time.perf_counter()
    if seeded_database(_seed_name(entries), lambda url: seed(url, base)):
        print(f"PostgreSQL seed: {time.perf_counter() - started:.0f} s", flush=True)


# --- one measured run (a child process, the code tree on its PYTHONPATH) ------------------------


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend, from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wal(session) -> tuple[int, int, int]:
    """(WAL bytes, full-page images, checkpoints) of the whole PostgreSQL server so far."""
    from sqlalchemy import text

    wal_bytes, fpi = session.execute(text("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")).one()
    checkpoints = session.execute(
        text("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
    ).scalar_one()
    return int(wal_bytes), int(fpi), int(checkpoints)


def run(args) -> dict:
    from sqlalchemy import text
    from sqlmodel import Session, select

    import hostguard.registry  # noqa: F401
    from hostguard.db import make_engine
    from hostguard.exchanges import service as exchanges
    from hostguard.exchanges.clients import Batch
    from hostguard.exchanges.models import Exchange
    from hostguard.hashing import service, snapshots
    from hostguard.hashing.models import HashList

    base, added, removed = data(args.entries, args.changes)
    engine = make_engine(args.url)
    folder = tempfile.mkdtemp(prefix="hostguard-bench-index-")
    snapshots.configure(folder)  # as in the worker and every web process
    try:
        with Session(engine) as session:  # the web processes have the list loaded
            service.index_for(session, session.exec(select(HashList)).one())
        new: str | None = "new"
        updates: list[tuple[str, list[tuple[str, str | None]]]] = [
            (f"pdq:{h}", [(h, new)]) for h in added
        ] + [(f"pdq:{h}", []) for h in removed]
        np.random.default_rng(1).shuffle(updates)  # type: ignore[arg-type]
        pages = [
            Batch(dict(updates[start : start + args.page]), {"update_time": start}, None)
            for start in range(0, len(updates), args.page)
        ]
        timings: dict[str, list[float]] = {}
        if args.statements:
            from sqlalchemy import event

            def before(conn, cursor, statement, parameters, context, executemany):
                conn.info["bench_started"] = time.perf_counter()

            def after(conn, cursor, statement, parameters, context, executemany):
                spent = time.perf_counter() - conn.info.pop("bench_started")
                timings.setdefault(" ".join(statement.split())[:90], []).append(spent)

            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        with Session(engine) as session:
            backend, wal = None, (0, 0, 0)
            if engine.dialect.name == "postgresql":
                backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                wal = _wal(session)
                session.commit()
            exchange = session.exec(select(Exchange)).one()
            hash_list = service.get_list(session=session, name="feed")
            result: exchanges.FetchResult = {
                "exchange": "feed",
                "ok": True,
                "batches": 0,
                "added": 0,
                "removed": 0,
                "updated": 0,
                "error": None,
            }
            server_cpu = _backend_cpu(backend)
            started, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            exchanges.apply_pages(
                session=session,
                exchange=exchange,
                hash_list=hash_list,
                pages=pages,
                actor="bench",
                commit=session.commit,
                result=result,
                group_records=args.group,
            )
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            apply, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
            server_cpu = _backend_cpu(backend) - server_cpu
            if backend is not None:
                after = _wal(session)
                session.commit()
                wal = tuple(b - a for a, b in zip(wal, after, strict=True))  # type: ignore[assignment]
            assert (result["added"], result["removed"]) == (len(added), len(removed)), result
        with Session(engine) as session:
            hash_list = session.exec(select(HashList)).one()
            assert hash_list.entry_count == len(base) + len(added) - len(removed)
            service.clear_index_cache()
            started = time.perf_counter()
            index = service.index_for(session, hash_list)
            load = time.perf_counter() - started
            assert index.query(added[:1], 0) and not index.query(removed[:1], 0)
            assert len(index) == hash_list.entry_count  # the snapshot is the new version
        if args.statements:
            for statement, spent in sorted(timings.items(), key=lambda t: -sum(t[1]))[:15]:
                print(f"{sum(spent):7.3f} s {len(spent):4d}x  {statement}", file=sys.stderr)
        outcome = {
            "apply": apply,
            "apply_cpu": apply_cpu,
            "server_cpu": server_cpu,
            "wal_mb": wal[0] / 2**20,
            "wal_fpi": wal[1],
            "checkpoints": wal[2],
            "load": load,
        }
        if args.peer:  # the same number of changes the other way: back to the seeded list
            started = time.perf_counter()
            with Session(engine) as session:
                summary = service.import_list(
                    session=session,
                    actor="bench",
                    name="feed",
                    data=("\n".join(base) + "\n").encode(),
                    replace=True,
                )
                session.commit()
            outcome["replace"] = time.perf_counter() - started
            assert (summary["added"], summary["removed"]) == (len(removed), len(added)), summary
        return outcome
    finally:
        engine.dispose()
        snapshots.configure(None)
        shutil.rmtree(folder, ignore_errors=True)


def child(args) -> None:
    print(json.dumps(run(args)), flush=True)


# --- the parent: each code tree on each database -------------------------------------------------


def _run_child(args, label: str, code: str, database: str) -> dict:
    from benchmarks.scratch import scratch_postgres

    with ExitStack() as scratch:
        if database == "sqlite":
            folder = scratch.enter_context(
                tempfile.TemporaryDirectory(prefix="hostguard-bench-exchange-")
            )
            copy = Path(folder) / "bench.db"
            shutil.copyfile(Path(args.cache) / f"seed-{args.entries}.db", copy)
            url = f"sqlite:///{copy}"
        else:
            url = scratch.enter_context(
                scratch_postgres("hostguard_bench_exchange_run", template=_seed_name(args.entries))
            )
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            url,
            "--entries",
            str(args.entries),
            "--changes",
            str(args.changes),
            "--page",
            str(args.page),
            "--group",
            str(args.group),
        ]
        if args.peer:
            command.append("--peer")
        if args.profile:
            command += ["--profile", f"{args.profile}.{label}.{database}"]
        if args.statements:
            command.append("--statements")
        env = {**os.environ, "PYTHONPATH": str(Path(code).resolve())}
        load_before = os.getloadavg()[0]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{label} on {database} failed:\n{done.stderr[-3000:]}")
        if args.statements:
            print(done.stderr, file=sys.stderr)
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        outcome["load_before"] = load_before
        return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--group", type=int, default=50_000)
    parser.add_argument("--cache", default="/tmp/hostguard-bench-exchanges")
    parser.add_argument("--prepare", action="store_true", help="make the seeded databases, exit")
    parser.add_argument("--code", action="append", default=[], help="LABEL=PATH (repeatable)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--peer", action="store_true", help="also time a whole --replace")
    parser.add_argument("--profile", default=None)
    parser.add_argument(
        "--statements", action="store_true", help="print each statement's time (stderr)"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.url = args.child
        child(args)
        return
    skipped = {"sqlite": args.no_sqlite, "postgres": args.no_postgres}
    databases = [d for d in ("sqlite", "postgres") if not skipped[d]]
    prepare(
        Path(args.cache),
        args.entries,
        args.changes,
        postgres="postgres" in databases,
        sqlite="sqlite" in databases,
    )
    if args.prepare:
        return
    codes = [c.split("=", 1) for c in args.code] or [["this", str(ROOT)]]
    print(
        f"{args.entries:,}-entry PDQ list, {args.changes:,} changes (half added, half removed)"
        f" in pages of {args.page:,}, groups of {args.group:,}; {os.cpu_count()} CPUs\n"
    )
    print(
        "| code | database | apply all pages | CPU: process / PostgreSQL backend "
        "| every process has the new version | peer --replace | load average before |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for database in databases:
        for label, code in codes:
            r = _run_child(args, label, code, database)
            server = ""
            if database == "postgres":
                server = (
                    f" / {r['server_cpu']:.1f} s (WAL {r['wal_mb']:.0f} MB, "
                    f"{r['wal_fpi']:,} full pages, {r['checkpoints']} checkpoints)"
                )
            replace = f"{r['replace']:.1f} s" if "replace" in r else "-"
            print(
                f"| {label} | {database} | {r['apply']:.1f} s | {r['apply_cpu']:.1f} s{server} "
                f"| {r['load']:.2f} s | {replace} | {r['load_before']:.1f} |",
                flush=True,
            )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
