"""A bulk decision with a template on N cases, against N single decisions, on SQLite and on
PostgreSQL.

    .venv/bin/python -m benchmarks.cases.bulk_decision [--cases 1000] [--only sqlite|postgresql]
        [--postgres URL] [--prepare DIR | --prepared DIR]

Opens N cases (each a model with a known uploader, from a notice) in a scratch database
(SQLite: a data dir, copied for the second run; PostgreSQL: two databases created on the server
and dropped afterwards, each seeded the same way), then decides them twice over from the same
start: once as one bulk action (`hostguard.workflows.bulk.bulk_action`: a savepoint per case, a
commit every 25 cases) and once the naive way a script would, one claim + decision + commit per
case. Checks afterwards that every case has its statement of reasons, its uploader message, its
platform action job and its decision audit record, and that the audit chain verifies. Prints JSON
with the time and load average around each database's two runs.

Seeding is not measured and can run beforehand, so a quiet (exclusive) hold covers only the
measured part:

    .venv/bin/python -m benchmarks.cases.bulk_decision --prepare DIR [--cases 1000]
    flock -x /work/machine.lock .venv/bin/python -m benchmarks.cases.bulk_decision --prepared DIR --only sqlite
    flock -x /work/machine.lock .venv/bin/python -m benchmarks.cases.bulk_decision --prepared DIR --only postgresql

Each database's data is used up by its measurement and dropped; DIR goes with the last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, col, func, select

import hostguard.registry  # noqa: F401  (every table and handler, as a process has at start)
from benchmarks.scratch import (
    POSTGRES,
    create_database,
    database_url,
    drop_database,
    scratch_name,
)
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


def runtime_in(path: Path, url: str | None = None) -> Runtime:
    settings = Settings(env="test", data_dir=path, log_json=False, database_url=url)
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


def prepare(base: Path, *, cases: int, only: str | None, server: str) -> dict:
    """Seed the scratch databases both ways start from, and say where they are (`prepared.json`).

    SQLite: one data dir, copied for the second way. PostgreSQL: two databases seeded alike.
    """
    base.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"cases": cases}
    if only != "postgresql":
        start = runtime_in(base / "sqlite-bulk")
        ids = seed(start, cases)
        start.close()
        shutil.copytree(base / "sqlite-bulk", base / "sqlite-one-by-one")
        manifest["sqlite"] = {"ids": ids}
    if only != "sqlite":
        names = [scratch_name("hostguard_bulk") for _ in range(2)]
        manifest["postgresql"] = {"databases": names, "ids": []}
        (base / "prepared.json").write_text(json.dumps(manifest))  # for cleanup if seeding fails
        for name in names:
            create_database(server, name)
            runtime = runtime_in(base / name, database_url(server, name))
            manifest["postgresql"]["ids"].append(seed(runtime, cases))
            runtime.close()
    (base / "prepared.json").write_text(json.dumps(manifest))
    return manifest


def _half(database: str, runs) -> dict:
    """Both ways on one database, one after the other, with the time and load around them."""
    results: dict = {
        "database": database,
        "started_utc": time.strftime("%H:%M:%S", time.gmtime()),
        "load_average_before": os.getloadavg(),
    }
    for how, runtime, ids in runs:
        results |= how(runtime, ids)
        runtime.close()
    results["load_average_after"] = os.getloadavg()
    results["ended_utc"] = time.strftime("%H:%M:%S", time.gmtime())
    return results


def measure(base: Path, manifest: dict, database: str, *, server: str) -> dict:
    """Both ways on one prepared database; its data is used up (dropped) afterwards."""
    try:
        if database == "sqlite":
            ids = manifest["sqlite"]["ids"]
            return _half(
                "sqlite",
                [
                    (decide_in_bulk, runtime_in(base / "sqlite-bulk"), ids),
                    (decide_one_by_one, runtime_in(base / "sqlite-one-by-one"), ids),
                ],
            )
        names, ids = manifest["postgresql"]["databases"], manifest["postgresql"]["ids"]
        return _half(
            "postgresql",
            [
                (how, runtime_in(base / name, database_url(server, name)), name_ids)
                for how, name, name_ids in zip(
                    (decide_in_bulk, decide_one_by_one), names, ids, strict=True
                )
            ],
        )
    finally:
        drop(base, database, server=server)


def drop(base: Path, database: str, *, server: str) -> None:
    """Remove one database's prepared data (and DIR once nothing is left in it)."""
    manifest_path = base / "prepared.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if database == "postgresql" and "postgresql" in manifest:
        for name in manifest["postgresql"]["databases"]:
            drop_database(server, name)
            shutil.rmtree(base / name, ignore_errors=True)
    if database == "sqlite":
        for name in ("sqlite-bulk", "sqlite-one-by-one"):
            shutil.rmtree(base / name, ignore_errors=True)
    manifest.pop(database, None)
    if set(manifest) - {"cases"}:
        manifest_path.write_text(json.dumps(manifest))
    else:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument(
        "--prepare", type=Path, metavar="DIR", help="only seed the databases into DIR and stop"
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        metavar="DIR",
        help="measure on the databases --prepare seeded in DIR (each dropped once measured)",
    )
    args = parser.parse_args()
    if args.prepare:
        manifest = prepare(args.prepare, cases=args.cases, only=args.only, server=args.postgres)
        print(json.dumps({"prepared": str(args.prepare), "cases": manifest["cases"]}))
        return
    if args.prepared:
        base = args.prepared
        manifest = json.loads((base / "prepared.json").read_text())
    else:
        base = Path(tempfile.mkdtemp(prefix="hg-bulk-"))
        try:
            manifest = prepare(base, cases=args.cases, only=args.only, server=args.postgres)
        except BaseException:
            for database in ("sqlite", "postgresql"):
                drop(base, database, server=args.postgres)
            raise
    report: dict = {"cases": manifest["cases"], "cpus": os.cpu_count()}
    for database in ("sqlite", "postgresql"):
        if database in manifest and args.only in (None, database):
            report[database] = measure(base, manifest, database, server=args.postgres)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
