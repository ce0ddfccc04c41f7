"""Search and the team dashboard at a million cases, on SQLite and on PostgreSQL.

    .venv/bin/python -m benchmarks.cases.scale [--cases 1000000] [--repeat 15] [--explain]
        [--only sqlite|postgresql] [--sqlite-file PATH --postgres-database NAME
        [--load-only | --reuse]]

Loading 1 M cases takes minutes of CPU: `--load-only` loads into the named SQLite file and
PostgreSQL database and keeps them; `--reuse` then times them without loading again (upgrading
them to the newest migration first), so the load can run beside other work and only the timed
part needs a quiet machine. Without a name the run loads into a scratch database it drops.

Generates a year of a busy platform's cases straight into a scratch database (SQLite: one
`executemany` per table in one transaction, the FTS5 triggers firing; PostgreSQL: `COPY` into
a database created for the run, its secondary indexes dropped during the load and rebuilt
after, then VACUUM ANALYZE; SQLite likewise without its indexes and triggers, FTS5 rebuilt): per 1 M cases about 300 k repos of 100 k uploaders, 530 k notices (one
per notice or trusted-flagger case, from 60 k notifiers whose e-mails are stored only as keyed
digests), 6 k orders of 5 cases each, 900 k decisions, 27 k appeals (a third overturned), 100 k
moderators' notes; 8 % of cases open, 1 % escalated, 0.5 % appealed. Explanations are drawn
from a 20,000-word vocabulary (Zipf), so common and rare words both occur.

Then counts the dashboard's daily roll-up and open cases' figures from those rows
(`hostguard.cases.rollup.rebuild`, as migrations 0023 and 0025 do for an existing database) and times, `--repeat` times each (after one warm-up), what the console calls:
`hostguard.cases.search.search_cases` for each kind of query (model id, uploader, notifier
e-mail, order reference, case/notice number, rare word, common word, two words, no hit) and
`hostguard.cases.dashboard.team_dashboard` as a whole and per SQL statement (captured with a
cursor event, labelled in the order the dashboard runs them). `--explain` prints each
dashboard statement's plan. Prints JSON with p50/p95 in milliseconds and the table sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from benchmarks.cases.queue_pages import CATEGORIES
from benchmarks.scratch import (
    POSTGRES,
    create_database,
    database_url,
    drop_database,
    scratch_postgres,
    scratch_sqlite,
)
from hostguard.cases.dashboard import team_dashboard
from hostguard.cases.intake import client_digest
from hostguard.cases.rollup import rebuild
from hostguard.cases.search import search_cases
from hostguard.db import make_engine, upgrade

SECRET = "benchmark-secret-key-not-for-production"
# (source, share of cases): a notice-driven platform with hash matching on uploads
SOURCES = [
    ("notice", 0.45),
    ("trusted_flagger", 0.08),
    ("order", 0.03),
    ("hash_match", 0.30),
    ("upload_check", 0.09),
    ("own_initiative", 0.05),
]
DEADLINE_HOURS = {"notice": 72, "trusted_flagger": 24, "order": 24}
MODERATORS = 40
DAY_SECONDS = 86_400
# the labels of the dashboard's statements, in the order team_dashboard runs them
# (the period's figures: the roll-up for its whole days, then the raw tables for the part of
# the first day and today's part together)
DASHBOARD_STATEMENTS = [
    "queue now: open cases' figures",
    "queue now: deadlines of today",
    "roll-up: the whole days",
    "raw parts: deadlines met by source",
    "raw parts: time to decision (buckets)",
    "raw parts: decisions per day",
    "raw parts: decisions per moderator",
    "raw parts: appeals decided / overturned",
    "moderators' e-mails",
]
COMMON_WORDS = ["model", "weights", "images", "dataset", "trained", "generates", "faces", "report"]


def _vocabulary(rng) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = set(COMMON_WORDS)
    while len(words) < 20_000:
        words.add("".join(rng.choice(letters, int(rng.integers(4, 11)))))
    return COMMON_WORDS + sorted(words - set(COMMON_WORDS))


class Texts:
    """Explanations of 8-30 words, word ranks Zipf-distributed over the vocabulary."""

    def __init__(self, rng):
        self.words = _vocabulary(rng)
        self.rng = rng

    def make(self, n: int) -> list[str]:
        ranks = np.minimum(self.rng.zipf(1.15, size=n * 30), len(self.words)) - 1
        lengths = self.rng.integers(8, 31, n)
        out, at = [], 0
        for length in lengths:
            out.append(" ".join(self.words[r] for r in ranks[at : at + length]))
            at += length
        return out


def generate(cases: int, *, seed: int = 0):
    """Yield (table, columns, rows) in an order the foreign keys accept."""
    rng = np.random.default_rng(seed)
    texts = Texts(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    year = 365 * DAY_SECONDS

    yield (
        "users",
        ("id", "email", "role", "password_hash", "active", "created_at", "preferences"),
        [
            (
                i + 1,
                f"mod{i + 1}@example.org",
                "senior_moderator" if i < 5 else "moderator",
                "x",
                True,
                now,
                "{}",
            )
            for i in range(MODERATORS)
        ],
    )
    uploaders = max(10, cases // 10)
    yield (
        "uploaders",
        ("id", "platform_id", "username", "status", "strikes", "created_at"),
        [(i, f"u-{i}", f"user{i}", "active", 0, now) for i in range(1, uploaders + 1)],
    )
    repos = max(10, cases * 3 // 10)
    owner = rng.integers(1, uploaders + 1, repos)
    repo_names = [f"user{int(owner[i])}/model-{i}" for i in range(repos)]
    yield (
        "model_repos",
        ("id", "repo_id", "repo_type", "uploader_id", "visibility", "status", "created_at"),
        [
            (i + 1, repo_names[i], "model", int(owner[i]), "public", "active", now)
            for i in range(repos)
        ],
    )

    # cases: opened uniformly over the last year; the newest still open
    names, shares = zip(*SOURCES, strict=True)
    source = rng.choice(len(names), cases, p=shares)
    age = np.sort(rng.integers(60, year, cases))[::-1]  # seconds ago, oldest first
    took = (rng.gamma(1.5, 14.0, cases) * 3600).astype(int) + 60  # seconds to decide
    repo = rng.integers(1, repos + 1, cases)
    category = rng.integers(0, len(CATEGORIES), cases)
    fate = rng.random(cases)
    decider = rng.integers(1, MODERATORS + 1, cases)
    automated = rng.random(cases) < 0.15
    rows, deciding = [], []
    status_of = []
    for i in range(cases):
        src = names[int(source[i])]
        opened = now - timedelta(seconds=int(age[i]))
        decided = opened + timedelta(seconds=int(took[i]))
        if decided >= now or fate[i] < 0.08:
            status, decided = "open", None
        elif fate[i] < 0.09:
            status, decided = "escalated", None
        elif fate[i] < 0.095:
            status = "appealed"
        else:
            status = "decided"
        hours = DEADLINE_HOURS.get(src)
        assigned = int(decider[i]) if status == "open" and fate[i] < 0.02 else None
        rows.append(
            (
                i + 1,
                int(repo[i]),
                status,
                CATEGORIES[int(category[i])],
                src,
                100 + int(category[i]) * 10,
                opened + timedelta(hours=hours) if hours else None,
                assigned,
                opened if assigned else None,
                opened,
                decided,
                "",
                "senior" if status == "escalated" else None,
                False,
                opened if assigned else None,
            )
        )
        status_of.append(status)
        if decided is not None:
            deciding.append((i + 1, decided))
    yield (
        "cases",
        (
            "id",
            "repo_pk",
            "status",
            "category",
            "source",
            "priority",
            "deadline_at",
            "assigned_to",
            "claimed_at",
            "opened_at",
            "decided_at",
            "summary",
            "escalated_to",
            "automated",
            "claim_active_at",
        ),
        rows,
    )
    del rows

    # notices: one per notice or trusted-flagger case, from notifiers with keyed e-mail digests
    notifiers = max(10, cases * 6 // 100)
    yield (
        "notifiers",
        (
            "id",
            "kind",
            "email_digest",
            "notices",
            "decided",
            "unfounded",
            "status",
            "created_at",
        ),
        [
            (
                i,
                "public",
                client_digest(SECRET, f"notifier{i}@example.net"),
                0,
                0,
                0,
                "active",
                now,
            )
            for i in range(1, notifiers + 1)
        ],
    )
    noticed = [i for i in range(cases) if names[int(source[i])] in ("notice", "trusted_flagger")]
    sender = np.minimum(rng.zipf(1.3, len(noticed)), notifiers)
    explanations = texts.make(len(noticed))
    notice_rows, item_rows = [], []
    for n, i in enumerate(noticed):
        opened = now - timedelta(seconds=int(age[i]))
        decided = None
        if status_of[i] in ("decided", "appealed"):
            decided = opened + timedelta(seconds=int(took[i]))
        repo_name = repo_names[int(repo[i]) - 1]
        notice_rows.append(
            (
                n + 1,
                int(sender[n]),
                names[int(source[i])],
                CATEGORIES[int(category[i])],
                explanations[n],
                json.dumps([repo_name]),
                True,
                "decided" if decided else "open",
                "founded" if decided else None,
                opened,
                decided,
            )
        )
        item_rows.append(
            (n + 1, n + 1, i + 1, repo_name, f"https://huggingface.co/{repo_name}", None, None)
        )
    yield (
        "notices",
        (
            "id",
            "notifier_id",
            "source",
            "category",
            "explanation",
            "items",
            "good_faith",
            "status",
            "outcome",
            "received_at",
            "decided_at",
        ),
        notice_rows,
    )
    yield (
        "notice_items",
        ("id", "notice_id", "case_id", "repo_id", "url", "path", "revision"),
        item_rows,
    )
    del notice_rows, item_rows, explanations

    # orders: five cases each
    ordered = [i for i in range(cases) if names[int(source[i])] == "order"]
    order_rows, order_items = [], []
    for k in range(0, len(ordered), 5):
        first = ordered[k]
        order_id = k // 5 + 1
        received = now - timedelta(seconds=int(age[first]))
        order_rows.append(
            (
                order_id,
                "Bundeskriminalamt",
                "DE",
                f"BKA-{2026 - int(age[first]) // year}-{order_id:06d}",
                "Art. 9 DSA; § 130 StGB",
                CATEGORIES[int(category[first])],
                "order to act against the listed models",
                json.dumps([repo_names[int(repo[i]) - 1] for i in ordered[k : k + 5]]),
                "[]",
                received + timedelta(hours=24),
                "acknowledged",
                received,
                "bench",
            )
        )
        order_items += [
            (len(order_items) + j + 1, order_id, i + 1, repo_names[int(repo[i]) - 1])
            for j, i in enumerate(ordered[k : k + 5])
        ]
    yield (
        "authority_orders",
        (
            "id",
            "authority",
            "member_state",
            "reference",
            "legal_basis",
            "category",
            "explanation",
            "items",
            "territorial_scope",
            "deadline_at",
            "status",
            "received_at",
            "created_by",
        ),
        order_rows,
    )
    yield ("order_items", ("id", "order_id", "case_id", "repo_id"), order_items)
    del order_rows, order_items

    # decisions (one per decided case) and appeals on 3 % of them
    explanations = texts.make(len(deciding))
    decision_rows, appeal_rows = [], []
    appealed = rng.random(len(deciding))
    for d, (case_id, decided) in enumerate(deciding):
        i = case_id - 1
        auto = bool(automated[i]) and names[int(source[i])] == "hash_match"
        decision_rows.append(
            (
                d + 1,
                case_id,
                "take_down",
                "illegal_content",
                "Art. 3(h) DSA",
                CATEGORIES[int(category[i])],
                explanations[d],
                "[]",
                auto,
                None if auto else int(decider[i]),
                "rule:hash_match" if auto else f"user:{int(decider[i])}",
                decided,
            )
        )
        if status_of[i] == "appealed" or appealed[d] < 0.027:
            filed = decided + timedelta(hours=int(rng.integers(1, 200)))
            if status_of[i] == "appealed" or filed >= now:
                status, outcome, closed = "open", None, None
            else:
                closed = min(now, filed + timedelta(hours=int(rng.integers(1, 120))))
                status = "decided"
                outcome = "overturned" if rng.random() < 0.33 else "upheld"
            appeal_rows.append(
                (
                    len(appeal_rows) + 1,
                    case_id,
                    d + 1,
                    "uploader",
                    "the model is a research artefact and does not contain what the notice says",
                    status,
                    outcome,
                    None if closed is None else "reviewed by a second senior moderator",
                    None if closed is None else int(rng.integers(1, 6)),
                    min(filed, now),
                    closed,
                    "uploader:bench",
                )
            )
    yield (
        "decisions",
        (
            "id",
            "case_id",
            "action",
            "ground",
            "ground_reference",
            "category",
            "explanation",
            "territorial_scope",
            "automated",
            "decided_by",
            "actor",
            "decided_at",
        ),
        decision_rows,
    )
    del decision_rows, explanations
    yield (
        "appeals",
        (
            "id",
            "case_id",
            "decision_id",
            "appellant",
            "reason",
            "status",
            "outcome",
            "explanation",
            "decided_by",
            "filed_at",
            "decided_at",
            "actor",
        ),
        appeal_rows,
    )
    del appeal_rows

    noted = rng.choice(cases, cases // 10, replace=False)
    bodies = texts.make(len(noted))
    yield (
        "case_notes",
        ("id", "case_id", "author", "body", "at"),
        [
            (
                n + 1,
                int(i) + 1,
                f"user:{int(decider[i])}",
                bodies[n],
                now - timedelta(seconds=int(age[i])),
            )
            for n, i in enumerate(noted)
        ],
    )


# --- loading ------------------------------------------------------------------------------------


def _sqlite_value(value):
    if isinstance(value, datetime):  # as SQLAlchemy's SQLite DateTime stores it, in UTC
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(engine, cases: int) -> dict[str, int]:
    """Insert each table with its secondary indexes and full-text triggers dropped, then
    recreate them, rebuild the FTS5 tables and ANALYZE."""
    sizes = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND sql IS NOT NULL AND tbl_name IN (SELECT name FROM sqlite_master "
            "WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%')"
        )
        kept = cursor.fetchall()
        for name, sql in kept:
            kind = "TRIGGER" if sql.upper().startswith("CREATE TRIGGER") else "INDEX"
            cursor.execute(f'DROP {kind} "{name}"')
        for table, columns, rows in generate(cases):
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in rows),
            )
            sizes[table] = len(rows)
        for _, sql in kept:
            cursor.execute(sql)
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return sizes


def load_postgres(engine, cases: int) -> dict[str, int]:
    """COPY each table with its secondary indexes dropped, then rebuild them and ANALYZE."""
    sizes = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        tables = [
            "users",
            "uploaders",
            "model_repos",
            "cases",
            "notifiers",
            "notices",
            "notice_items",
            "authority_orders",
            "order_items",
            "decisions",
            "appeals",
            "case_notes",
        ]
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            (tables,),
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table, columns, rows in generate(cases):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
            sizes[table] = len(rows)
        for _, definition in indexes:
            cursor.execute(definition)
        raw.commit()
    finally:
        raw.close()
    # what autovacuum would have done by the time a table has grown this big: statistics, and
    # the visibility map that lets the dashboard's covering indexes answer without the heap
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return sizes


# --- timing -------------------------------------------------------------------------------------


def percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
    }


def timed(fn, repeat: int) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times)


def search_queries(session: Session, cases: int) -> dict[str, str]:
    """One query of each kind, picked from the data (a busy notifier, an uploader with repos)."""
    ten = max(1, cases // 10)
    repo = session.execute(text("SELECT repo_id FROM model_repos WHERE id = :i"), {"i": ten}).one()
    order = session.execute(text("SELECT reference FROM authority_orders LIMIT 1")).one()
    rare = session.execute(
        text("SELECT explanation FROM decisions WHERE id = :i"), {"i": ten}
    ).one()[0]
    rarest = max(rare.split(), key=len)
    return {
        "model id": repo[0],
        "uploader": repo[0].split("/")[0],
        "notifier e-mail (keyed digest)": "notifier7@example.net",
        "order reference": order[0],
        "case or notice number": str(ten),
        "rare word": rarest,
        "common word": "model",
        "two words": "trained faces",
        "no hit": "zzzqqqxxx",
    }


def run(url: str, cases: int, repeat: int, explain: bool, mode: str = "load") -> dict:
    """Load (unless `mode` is "reuse") and time (unless it is "load-only")."""
    engine = make_engine(url)
    upgrade(engine)
    result: dict = {"cases": cases}
    if mode == "reuse":
        with engine.connect() as conn:
            result["rows"] = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("cases", "notices", "decisions", "case_notes", "case_daily_figures")
                + (("case_open_figures",) if has_open_figures(engine) else ())
            }
    else:
        started = time.perf_counter()
        load = load_postgres if engine.dialect.name == "postgresql" else load_sqlite
        sizes = load(engine, cases)
        result["load_s"] = round(time.perf_counter() - started, 1)
        # the rows were written around the ORM: count the dashboard's roll-up once, as the
        # migration does for an existing database
        started = time.perf_counter()
        with engine.begin() as conn:
            for name in ("case_daily_figures", "case_open_figures"):
                sizes[name] = rebuild(conn, name)
                conn.execute(text(f"ANALYZE {name}"))
        result["rollup_rebuild_s"] = round(time.perf_counter() - started, 1)
        result["rows"] = sizes
    if engine.dialect.name == "sqlite":
        result["database_mb"] = round(os.path.getsize(make_url(url).database) / 1e6)
    else:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            result["database_mb"] = round(size / 1e6)
    if mode == "load-only":
        engine.dispose()
        return result

    statements: list[tuple[str, dict, float]] = []
    capture = {"on": False}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        if capture["on"]:
            took = (time.perf_counter() - conn.info["bench_started"]) * 1000
            statements.append((statement, parameters, took))

    def profile(fn, labels=None) -> tuple[dict, dict, dict]:
        """p50/p95 of `fn` and of each SQL statement it runs (by position), and their plans."""
        timing = timed(fn, repeat)
        per: dict[str, list[float]] = defaultdict(list)
        plans = {}
        for _ in range(repeat):
            statements.clear()
            capture["on"] = True
            fn()
            capture["on"] = False
            for n, (statement, params, took) in enumerate(statements):
                label = (
                    labels[n] if labels and n < len(labels) else " ".join(statement.split())[:90]
                )
                per[f"{n:02d} {label}"].append(took)
                if explain and f"{n:02d} {label}" not in plans:
                    plans[f"{n:02d} {label}"] = _plan(session, statement, params)
        return timing, {label: percentiles(t) for label, t in per.items()}, plans

    with Session(engine) as session:
        queries = search_queries(session, cases)
        result["search"] = {}
        for kind, query in queries.items():
            timing, by_statement, plans = profile(
                lambda q=query: search_cases(session, query=q, secret=SECRET)
            )
            slowest = max(by_statement.items(), key=lambda kv: kv[1]["p50_ms"])
            result["search"][kind] = {
                "query": query,
                **timing,
                "hits": len(search_cases(session, query=query, secret=SECRET)),
                "slowest_statement": {"sql": slowest[0], **slowest[1]},
            }
            if explain:
                result["search"][kind]["plans"] = plans
        board = team_dashboard(session)
        result["dashboard_figures"] = {
            "open": board.open_cases,
            "overdue": board.overdue_now,
            "decided_in_30_days": board.decided,
            "median_hours": board.median_hours,
            "p90_hours": board.p90_hours,
            "appeals_decided": board.appeals_decided,
        }
        timing, by_statement, plans = profile(lambda: team_dashboard(session), DASHBOARD_STATEMENTS)
        result["dashboard"] = timing
        result["dashboard_statements"] = by_statement
        if explain:
            result["dashboard_plans"] = plans
    engine.dispose()
    return result


def has_open_figures(engine) -> bool:
    """Whether the database has migration 0024's table (an older checkout's run has not)."""
    with engine.connect() as conn:
        return "case_open_figures" in conn.dialect.get_table_names(conn)


def _plan(session: Session, statement: str, params) -> list[str]:
    raw = session.connection().connection.driver_connection
    cursor = raw.cursor()
    if session.get_bind().dialect.name == "postgresql":
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
    return [" | ".join(str(c) for c in row) for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--sqlite-file", type=Path, help="keep the SQLite database in this file")
    parser.add_argument("--postgres-database", help="keep the PostgreSQL database of this name")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument(
        "--load-only", action="store_true", help="load the named databases, no timing"
    )
    kept.add_argument("--reuse", action="store_true", help="time the named databases, no loading")
    args = parser.parse_args()
    mode = "load-only" if args.load_only else "reuse" if args.reuse else "load"
    if mode != "load" and not (args.sqlite_file or args.only == "postgresql"):
        parser.error("--load-only and --reuse need --sqlite-file (or --only postgresql)")
    if mode != "load" and not (args.postgres_database or args.only == "sqlite"):
        parser.error("--load-only and --reuse need --postgres-database (or --only sqlite)")
    report: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "mode": mode}
    if args.only != "postgresql":
        if args.sqlite_file:
            if mode == "load-only":
                args.sqlite_file.unlink(missing_ok=True)
            elif mode == "reuse" and not args.sqlite_file.exists():
                parser.error(f"{args.sqlite_file} does not exist: load it with --load-only first")
            url = f"sqlite:///{args.sqlite_file.resolve()}"
            report["sqlite"] = run(url, args.cases, args.repeat, args.explain, mode)
        else:
            with scratch_sqlite("scale.db") as url:
                report["sqlite"] = run(url, args.cases, args.repeat, args.explain)
    if args.only != "sqlite":
        if args.postgres_database:  # kept: loaded afresh unless reused
            if mode != "reuse":
                drop_database(args.postgres, args.postgres_database)
                create_database(args.postgres, args.postgres_database)
            url = database_url(args.postgres, args.postgres_database)
            report["postgresql"] = run(url, args.cases, args.repeat, args.explain, mode)
        else:
            with scratch_postgres("hostguard_scale", server=args.postgres) as url:
                report["postgresql"] = run(url, args.cases, args.repeat, args.explain, mode)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
