"""The team dashboard's figures on a seeded case table, on SQLite and on PostgreSQL.

    .venv/bin/python -m benchmarks.cases.dashboard [--cases 100000] [--repeat 9]

Seeds the cases (10 % open, opened over 60 days, categories and sources spread evenly; each\ndecided case decided 1-100 h after opening, with its decision row), then
times `hostguard.cases.dashboard.team_dashboard` - what `/console/dashboard` calls - for the
30-day period: p50 and p95 of the whole page's queries. The naive way it is compared with
loads every case of the period and counts in Python. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta

import numpy as np
from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from benchmarks.cases.queue_pages import CATEGORIES, seed_repos
from benchmarks.scratch import POSTGRES, scratch_postgres, scratch_sqlite
from hostguard.cases.dashboard import team_dashboard
from hostguard.cases.models import Case, Decision
from hostguard.cases.rollup import rebuild
from hostguard.db import make_engine, upgrade
from hostguard.db.types import utcnow

SOURCES = ["notice", "trusted_flagger", "order", "hash_match", "own_initiative"]


def seed_cases(engine, cases: int, *, open_share: float = 0.1, users: int = 20) -> None:
    """Cases opened over the last 400 hours, 10 % open; each decided one with its decision row."""
    rng = np.random.default_rng(0)
    now = utcnow()
    repo_ids = seed_repos(engine, now)
    batch, next_id = 50_000, 1
    for start in range(0, cases, batch):
        n = min(batch, cases - start)
        rows, decisions = [], []
        for r, o, c, src, age, took, u in zip(
            rng.integers(0, len(repo_ids), n),
            rng.random(n) < open_share,
            rng.integers(0, len(CATEGORIES), n),
            rng.integers(0, len(SOURCES), n),
            rng.integers(1, 24 * 60, n),
            rng.integers(1, 100, n),
            rng.integers(0, users, n),
            strict=True,
        ):
            opened = now - timedelta(hours=int(age))
            decided = None if o else min(now, opened + timedelta(hours=int(took)))
            rows.append(
                {
                    "id": next_id,
                    "repo_pk": repo_ids[int(r)],
                    "status": "open" if o else "decided",
                    "category": CATEGORIES[int(c)],
                    "source": SOURCES[int(src)],
                    "priority": 100,
                    "opened_at": opened,
                    "deadline_at": opened + timedelta(hours=24),
                    "decided_at": decided,
                    "summary": "",
                    "automated": False,
                }
            )
            if decided:
                decisions.append(
                    {
                        "case_id": next_id,
                        "action": "take_down",
                        "ground": "illegal_content",
                        "ground_reference": "x",
                        "category": CATEGORIES[int(c)],
                        "explanation": "x",
                        "actor": f"user:{int(u)}",
                        "decided_at": decided,
                        "automated": False,
                        "territorial_scope": [],
                    }
                )
            next_id += 1
        with engine.begin() as conn:
            conn.execute(insert(Case.__table__), rows)
            conn.execute(insert(Decision.__table__), decisions)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
    # the rows were written around the ORM: count the dashboard's kept figures once
    with engine.begin() as conn:
        for name in ("case_daily_figures", "case_open_figures"):
            rebuild(conn, name)


def naive(session: Session, since) -> tuple[int, float]:
    """Load the period's decided cases and work the median out in Python."""
    hours = [
        (c.decided_at - c.opened_at).total_seconds() / 3600
        for c in session.exec(select(Case).where(col(Case.decided_at) >= since))
    ]
    return len(hours), statistics.median(hours) if hours else 0.0


def timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
    }


def run(url: str, cases: int, repeat: int) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    seed_cases(engine, cases)
    seeded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with Session(engine) as session:
        board = team_dashboard(session)
        result = {
            "cases": cases,
            "seed_s": round(seeded, 1),
            "open": board.open_cases,
            "decided_in_30_days": board.decided,
            "dashboard": timed(lambda: team_dashboard(session), repeat),
            "naive_load_and_count": timed(lambda: naive(session, board.since), max(3, repeat // 3)),
        }
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    report = {}
    with scratch_sqlite("dash.db") as url:
        report["sqlite"] = run(url, args.cases, args.repeat)
    with scratch_postgres("hostguard_dash", server=args.postgres) as url:
        report["postgresql"] = run(url, args.cases, args.repeat)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
