"""A bulk decision with a template on N cases, against N single decisions, on SQLite and on
PostgreSQL.

    .venv/bin/python -m benchmarks.cases.bulk_decision [--cases 1000] [--only sqlite|postgresql]

Opens N cases (each a model with a known uploader, from a notice) in a scratch database
(SQLite: a data dir, copied for the second run; PostgreSQL: two databases created on the server
and dropped afterwards, each seeded the same way), then decides them twice over from the same
start: once as one bulk action (`hostguard.workflows.bulk.bulk_action`, one transaction, a
savepoint per case) and once the naive way a script would, one claim + decision + commit per
case. Checks afterwards that every case has its statement of reasons, its uploader message, its
platform action job and its decision audit record, and that the audit chain verifies. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, func, select

import hostguard.registry  # noqa: F401  (every table and handler, as a process has at start)
from hostguard.accounts.models import User
from hostguard.accounts.service import create_user
from hostguard.audit.models import AuditRecord
from hostguard.audit.service import verify
from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.intake import open_case
from hostguard.cases.models import Case, Notification, StatementOfReasons
from hostguard.config import Settings
from hostguard.db import upgrade
from hostguard.jobs.models import Job
from hostguard.keys import ensure_keys
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.runtime import Runtime
from hostguard.workflows.bulk import BulkRequest, bulk_action
from hostguard.workflows.decisions import decide

TEMPLATE = "terrorism_take_down"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def runtime_in(path: Path, database_url: str | None = None) -> Runtime:
    settings = Settings(env="test", data_dir=path, log_json=False, database_url=database_url)
    ensure_keys(settings)
    runtime = Runtime(settings)
    upgrade(runtime.engine)
    return runtime


def seed(runtime: Runtime, cases: int) -> list[int]:
    with runtime.session() as s:
        create_user(
            session=s, email="bench@example.org", password="x" * 16, role="moderator", actor="bench"
        )
        ids = []
        for i in range(cases):
            uploader = get_or_create_uploader(
                s,
                platform_id=f"u-{i}",
                username=f"user{i}",
                email=f"u{i}@example.org",
                keys=runtime.keys,
            )
            repo = get_or_create_repo(s, repo_id=f"user{i}/model", uploader=uploader)
            case = open_case(
                policy=runtime.policy,
                session=s,
                repo=repo,
                source="notice",
                category="terrorism",
                actor="bench",
                kind="notice",
            )
            ids.append(case.id)
    return ids


def check(runtime: Runtime, ids: list[int]) -> dict:
    with Session(runtime.engine) as s:
        decided = s.exec(
            select(func.count()).select_from(Case).where(Case.status == "decided")
        ).one()
        statements = s.exec(select(func.count()).select_from(StatementOfReasons)).one()
        messages = s.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "uploader_statement")
        ).one()
        audits = s.exec(
            select(func.count())
            .select_from(AuditRecord)
            .where(
                AuditRecord.action == "case.decide.take_down",
                col(AuditRecord.subject).like("case:%"),
            )
        ).one()
        actions = s.exec(
            select(func.count()).select_from(Job).where(Job.kind == "platform.action")
        ).one()
        chain_ok = verify(s).ok
    return {
        "cases": len(ids),
        "decided": decided,
        "statements": statements,
        "uploader_messages": messages,
        "platform_action_jobs": actions,
        "decision_audit_records": audits,
        "audit_chain_verifies": chain_ok,
    }


def decide_in_bulk(runtime: Runtime, ids: list[int]) -> dict:
    with runtime.session() as s:
        user = s.exec(select(User)).one()
        t = time.perf_counter()
        outcomes = bulk_action(
            session=s,
            runtime=runtime,
            user=user,
            actor=user.actor,
            policy=runtime.policy,
            request=BulkRequest(kind="decide", case_ids=ids, decision=_template()),
        )
    return {
        "bulk_seconds": round(time.perf_counter() - t, 2),
        "bulk_refused": sum(1 for o in outcomes if not o.done),
        "bulk_check": check(runtime, ids),
    }


def decide_one_by_one(runtime: Runtime, ids: list[int]) -> dict:
    t = time.perf_counter()
    for case_id in ids:
        with runtime.session() as s:
            user = s.exec(select(User)).one()
            claim_case(
                session=s, case_id=case_id, user=user, actor=user.actor, policy=runtime.policy
            )
            decide(
                session=s,
                runtime=runtime,
                case_id=case_id,
                user=user,
                actor=user.actor,
                policy=runtime.policy,
                data=_template(),
            )
    return {
        "one_by_one_seconds": round(time.perf_counter() - t, 2),
        "one_by_one_check": check(runtime, ids),
    }


def _template() -> DecisionInput:
    return DecisionInput(
        action="",
        ground=None,
        ground_reference=None,
        category=None,
        explanation=None,
        template=TEMPLATE,
    )


def run_sqlite(cases: int) -> dict:
    base = Path(tempfile.mkdtemp(prefix="hg-bulk-"))
    try:
        start = runtime_in(base / "a")
        ids = seed(start, cases)
        start.close()
        shutil.copytree(base / "a", base / "b")
        bulk_rt = runtime_in(base / "a")
        results = decide_in_bulk(bulk_rt, ids)
        bulk_rt.close()
        naive_rt = runtime_in(base / "b")
        results |= decide_one_by_one(naive_rt, ids)
        naive_rt.close()
        return {"database": "sqlite", **results}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_postgres(cases: int, server: str) -> dict:
    base = Path(tempfile.mkdtemp(prefix="hg-bulk-"))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    names = [f"hostguard_bulk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        results: dict = {}
        for name, how in zip(names, (decide_in_bulk, decide_one_by_one), strict=True):
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
            runtime = runtime_in(base / name, url)
            ids = seed(runtime, cases)
            results |= how(runtime, ids)
            runtime.close()
        return {"database": "postgresql", **results}
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    report: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    if args.only != "postgresql":
        report["sqlite"] = run_sqlite(args.cases)
    if args.only != "sqlite":
        report["postgresql"] = run_postgres(args.cases, args.postgres)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
