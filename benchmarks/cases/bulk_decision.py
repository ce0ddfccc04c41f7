"""A bulk decision with a template on N cases, against N single decisions, on SQLite.

    .venv/bin/python -m benchmarks.cases.bulk_decision [--cases 1000]

Opens N cases (each a model with a known uploader, from a notice) in a scratch data dir, then
decides them twice over, on two copies of the same start: once as one bulk action
(`hostguard.workflows.bulk.bulk_action`, one transaction, a savepoint per case) and once the
naive way a script would, one claim + decision + commit per case. Checks afterwards that every
case has its statement of reasons, its uploader message and its decision audit record, and
that the audit chain verifies. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

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
from hostguard.keys import ensure_keys
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.runtime import Runtime
from hostguard.workflows.bulk import BulkRequest, bulk_action
from hostguard.workflows.decisions import decide

TEMPLATE = "terrorism_take_down"


def runtime_in(path: Path) -> Runtime:
    settings = Settings(env="test", data_dir=path, log_json=False)
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
        chain_ok = verify(s).ok
    return {
        "cases": len(ids),
        "decided": decided,
        "statements": statements,
        "uploader_messages": messages,
        "decision_audit_records": audits,
        "audit_chain_verifies": chain_ok,
    }


def run(cases: int) -> dict:
    base = Path(tempfile.mkdtemp(prefix="hg-bulk-"))
    try:
        start = runtime_in(base / "a")
        ids = seed(start, cases)
        start.close()
        shutil.copytree(base / "a", base / "b")
        results = {}
        bulk_rt = runtime_in(base / "a")
        with bulk_rt.session() as s:
            user = s.exec(select(User)).one()
            t = time.perf_counter()
            outcomes = bulk_action(
                session=s,
                runtime=bulk_rt,
                user=user,
                actor=user.actor,
                policy=bulk_rt.policy,
                request=BulkRequest(
                    kind="decide",
                    case_ids=ids,
                    decision=DecisionInput(
                        action="",
                        ground=None,
                        ground_reference=None,
                        category=None,
                        explanation=None,
                        template=TEMPLATE,
                    ),
                ),
            )
        results["bulk_seconds"] = round(time.perf_counter() - t, 2)
        results["bulk_refused"] = sum(1 for o in outcomes if not o.done)
        results["bulk_check"] = check(bulk_rt, ids)
        bulk_rt.close()
        naive_rt = runtime_in(base / "b")
        t = time.perf_counter()
        for case_id in ids:
            with naive_rt.session() as s:
                user = s.exec(select(User)).one()
                claim_case(
                    session=s, case_id=case_id, user=user, actor=user.actor, policy=naive_rt.policy
                )
                decide(
                    session=s,
                    runtime=naive_rt,
                    case_id=case_id,
                    user=user,
                    actor=user.actor,
                    policy=naive_rt.policy,
                    data=DecisionInput(
                        action="",
                        ground=None,
                        ground_reference=None,
                        category=None,
                        explanation=None,
                        template=TEMPLATE,
                    ),
                )
        results["one_by_one_seconds"] = round(time.perf_counter() - t, 2)
        results["one_by_one_check"] = check(naive_rt, ids)
        naive_rt.close()
        return {"database": "sqlite", **results}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(run(args.cases), indent=2))


if __name__ == "__main__":
    main()
