"""Keyset pages of the moderation queue at a million cases, on SQLite and on PostgreSQL.

    .venv/bin/python -m benchmarks.cases.queue_pages [--cases 1000000] [--open-share 0.1]

Seeds the cases (10 % open by default, priorities and categories spread like a real queue)
with bulk inserts into a scratch database (PostgreSQL: created on the server and dropped
afterwards), then times `hostguard.cases.queue.list_cases` - what the console's queue and
`GET /api/v1/cases` call - for the first page and after paging 200 pages deep, sorted by
priority, plus a filtered page (one category). Prints JSON; PostgreSQL's query plan for the
first page shows whether the index serves the order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta

import numpy as np
from sqlalchemy import insert, text
from sqlmodel import Session

from benchmarks.scratch import POSTGRES, scratch_postgres, scratch_sqlite
from hostguard.cases.models import Case
from hostguard.cases.queue import CaseFilter, list_cases
from hostguard.db import make_engine, upgrade
from hostguard.db.types import utcnow
from hostguard.platform.models import ModelRepo

CATEGORIES = [
    "child_sexual_abuse",
    "non_consensual_intimate_imagery",
    "terrorism",
    "violence",
    "hate",
    "fraud",
    "intellectual_property",
    "privacy",
    "other",
]


def seed_repos(engine, now) -> list[int]:
    """1,000 model repositories the seeded cases are about; returns their ids."""
    with engine.begin() as conn:
        conn.execute(
            insert(ModelRepo.__table__),
            [
                {
                    "repo_id": f"bench/model-{i}",
                    "repo_type": "model",
                    "status": "active",
                    "created_at": now,
                }
                for i in range(1000)
            ],
        )
        return [row[0] for row in conn.execute(text("SELECT id FROM model_repos ORDER BY id"))]


def seed(engine, cases: int, open_share: float) -> None:
    rng = np.random.default_rng(0)
    now = utcnow()
    repo_ids = seed_repos(engine, now)
    batch = 50_000
    for start in range(0, cases, batch):
        n = min(batch, cases - start)
        is_open = rng.random(n) < open_share
        rows = [
            {
                "repo_pk": repo_ids[int(r)],
                "status": "open" if o else "decided",
                "category": CATEGORIES[int(c)],
                "source": "notice",
                "priority": int(p),
                "deadline_at": now + timedelta(hours=int(h)),
                "opened_at": now - timedelta(hours=int(h)),
                "summary": "",
                "automated": False,
            }
            for r, o, c, p, h in zip(
                rng.integers(0, len(repo_ids), n),
                is_open,
                rng.integers(0, len(CATEGORIES), n),
                rng.integers(100, 1500, n),
                rng.integers(0, 400, n),
                strict=True,
            )
        ]
        with engine.begin() as conn:
            conn.execute(insert(Case.__table__), rows)


def timed_pages(engine, flt: CaseFilter, depth: int, repeat: int = 5) -> dict:
    first, deep = [], []
    for _ in range(repeat):
        with Session(engine) as session:
            start = time.perf_counter()
            page, cursor = list_cases(session, flt, sort="priority", limit=50)
            first.append(time.perf_counter() - start)
            for _ in range(depth - 1):
                assert cursor, "fewer cases than the pages asked for"
                page, cursor = list_cases(session, flt, sort="priority", cursor=cursor, limit=50)
            assert cursor, "fewer cases than the pages asked for"
            start = time.perf_counter()
            page, cursor = list_cases(session, flt, sort="priority", cursor=cursor, limit=50)
            deep.append(time.perf_counter() - start)
            assert len(page) == 50
    return {
        "first_page_ms": round(statistics.median(first) * 1000, 2),
        f"page_{depth + 1}_ms": round(statistics.median(deep) * 1000, 2),
    }


def run(url: str, cases: int, open_share: float, depth: int) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    seed(engine, cases, open_share)
    seeded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE cases"))
    result = {
        "cases": cases,
        "seed_s": round(seeded, 1),
        "open_queue": timed_pages(engine, CaseFilter(status="open"), depth),
        "open_queue_one_category": timed_pages(
            engine, CaseFilter(status="open", category="hate"), max(1, depth // 10)
        ),
    }
    if engine.dialect.name == "postgresql":
        with Session(engine) as session:
            plan = session.execute(
                text(
                    "EXPLAIN SELECT * FROM cases WHERE status = 'open' ORDER BY priority DESC, id DESC LIMIT 51"
                )
            )
            result["plan"] = [row[0].strip() for row in plan][:2]
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open-share", type=float, default=0.1)
    parser.add_argument(
        "--depth", type=int, default=200, help="pages to walk before timing a deep page"
    )
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    report = {}
    with scratch_sqlite("queue.db") as url:
        report["sqlite"] = run(url, args.cases, args.open_share, args.depth)
    with scratch_postgres("hostguard_queue", server=args.postgres) as url:
        report["postgresql"] = run(url, args.cases, args.open_share, args.depth)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
