"""An incremental exchange fetch applying 100,000 changes to a 1 M-entry list, vs a full re-import.

    .venv/bin/python -m benchmarks.exchanges.incremental_fetch [--entries 1000000]
        [--changes 100000] [--page 1000] [--postgres URL | --no-postgres]

The list is seeded as an exchange would leave it (entries and the exchange's records, in bulk).
Then half the changes are additions and half removals, applied as an exchange delivers them:
pages of `--page` records, applied in groups with their checkpoint
(`hostguard.exchanges.service.apply_pages`, what `fetch_exchange` runs, without the network).
"Until every web process matches" is the time one process needs to load the list's new
version (`index_for` after the version changed; with index snapshots, the first process
writes the snapshot and the others map it). The peer way, in the same run: re-importing the
whole list after the change (`hashlist import --replace`, what a file exchange does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

import hostguard.registry  # noqa: F401  (every table, for the migrations)
from hostguard.db import make_engine, upgrade
from hostguard.exchanges import service as exchanges
from hostguard.exchanges.clients import Batch
from hostguard.exchanges.models import Exchange, ExchangeRecord
from hostguard.hashing import service, snapshots
from hostguard.hashing.models import HashList


def _hashes(rng, count: int) -> list[str]:
    raw = rng.bytes(32 * count)
    return [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


def run(
    url: str, base: list[str], added: list[str], removed: list[str], page: int, group: int
) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    folder = tempfile.mkdtemp(prefix="hostguard-bench-index-")
    snapshots.configure(folder)  # as in the worker and every web process
    try:
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
            rows = [
                {"exchange_id": exchange.id, "key": f"pdq:{h}", "hash": h, "label": None}
                for h in base
            ]
            for start in range(0, len(rows), 50_000):
                session.execute(
                    insert(ExchangeRecord.__table__),  # type: ignore[attr-defined]
                    rows[start : start + 50_000],
                )
            session.commit()
        with Session(engine) as session:  # the web processes have the list loaded
            service.index_for(session, session.exec(select(HashList)).one())
        new: str | None = "new"
        updates: list[tuple[str, list[tuple[str, str | None]]]] = [
            (f"pdq:{h}", [(h, new)]) for h in added
        ] + [(f"pdq:{h}", []) for h in removed]
        np.random.default_rng(1).shuffle(updates)
        pages = [
            Batch(dict(updates[start : start + page]), {"update_time": start}, None)
            for start in range(0, len(updates), page)
        ]
        started, cpu = time.perf_counter(), time.process_time()
        with Session(engine) as session:
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
            exchanges.apply_pages(
                session=session,
                exchange=exchange,
                hash_list=hash_list,
                pages=pages,
                actor="bench",
                commit=session.commit,
                result=result,
                group_records=group,
            )
            assert (result["added"], result["removed"]) == (len(added), len(removed))
        apply, apply_cpu = time.perf_counter() - started, time.process_time() - cpu
        with Session(engine) as session:
            hash_list = session.exec(select(HashList)).one()
            assert hash_list.entry_count == len(base) + len(added) - len(removed)
            service.clear_index_cache()
            started = time.perf_counter()
            index = service.index_for(session, hash_list)
            load = time.perf_counter() - started
            assert index.query(added[:1], 0) and not index.query(removed[:1], 0)
            assert len(index) == hash_list.entry_count  # the snapshot is the new version
        after = sorted(set(base) - set(removed)) + added
        started = time.perf_counter()
        with Session(engine) as session:
            service.import_list(
                session=session,
                actor="bench",
                name="feed-file",
                data=("\n".join(base) + "\n").encode(),
                algorithm="pdq",
            )
            session.commit()
        seed_file = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine) as session:
            service.import_list(
                session=session,
                actor="bench",
                name="feed-file",
                data=("\n".join(after) + "\n").encode(),
                replace=True,
            )
            session.commit()
        replace = time.perf_counter() - started
        return {
            "apply": apply,
            "apply_cpu": apply_cpu,
            "load": load,
            "replace": replace,
            "seed_file": seed_file,
        }
    finally:
        engine.dispose()
        snapshots.configure(None)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--group", type=int, default=exchanges.GROUP_RECORDS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    base = _hashes(rng, args.entries)
    added = _hashes(rng, args.changes // 2)
    removed = base[: args.changes - len(added)]
    print(
        f"{args.entries:,}-entry PDQ list, {args.changes:,} changes ({len(added):,} added, "
        f"{len(removed):,} removed) in pages of {args.page:,}, groups of {args.group:,}; "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| database | incremental: apply all pages (CPU of this process) "
        "| load the new version (every process) | peer: re-import the whole list (--replace) |"
    )
    print("| --- | ---: | ---: | ---: |")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            r = run(
                f"sqlite:///{Path(folder) / 'bench.db'}",
                base,
                added,
                removed,
                args.page,
                args.group,
            )
            print(
                f"| SQLite | {r['apply']:.1f} s ({r['apply_cpu']:.1f} s) | {r['load']:.2f} s | {r['replace']:.1f} s |"
            )
    if args.no_postgres:
        return
    admin_url = make_url(args.postgres)
    name = f"hostguard_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        r = run(url, base, added, removed, args.page, args.group)
        print(
            f"| PostgreSQL | {r['apply']:.1f} s ({r['apply_cpu']:.1f} s) | {r['load']:.2f} s | {r['replace']:.1f} s |"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
