"""Issuing a decision's statement of reasons, as text and in Transparency Database form."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases.appeals import appeal_url
from hostguard.cases.intake import get_case
from hostguard.cases.measures import DecisionAction
from hostguard.cases.models import (
    Case,
    CaseEvidence,
    Decision,
    StatementOfReasons,
)
from hostguard.cases.priority import add_months
from hostguard.cases.statements.notifiers import _notifier_names_by_case, without_notifier
from hostguard.cases.statements.reasons import ReasonsFacts, statement_of_reasons_text
from hostguard.cases.statements.transparency_database import (
    AUTOMATED_SOURCES,
    StatementFacts,
    build_tdb_statement,
    validate_tdb_statement,
)
from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.policy import Category, Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


def _statement_of_reasons(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    decision: Decision,
    repo: ModelRepo,
    uploader: Uploader | None,
    category: Category,
    evidence: list[CaseEvidence],
    policy: Policy,
    account_suspended_until: datetime | None = None,
) -> StatementOfReasons:
    """`account_suspended_until`: the decision's strike suspended the uploader automatically
    (Art. 23) until then; the statement says so and carries the account decision."""
    assert case.id is not None and decision.id is not None  # read from the database, or flushed
    sources = {e.source for e in evidence} | {case.source}
    source = next((s for s in ("order", "trusted_flagger", "notice") if s in sources), case.source)
    authority = next((e.details.get("authority") for e in evidence if e.kind == "order"), None)
    automated_detection = bool(sources & AUTOMATED_SOURCES)
    hits = [e for e in evidence if e.source in AUTOMATED_SOURCES]
    facts_text = _facts_text(case=case, evidence=evidence, source=source)
    appeal_until = add_months(decision.decided_at, policy.cases.appeal_months)
    url = (
        appeal_url(runtime, case_id=case.id, appellant="uploader", ref=uploader.platform_id)
        if uploader
        else None
    )
    text = statement_of_reasons_text(
        ReasonsFacts(
            case_id=case.id,
            repo_id=repo.repo_id,
            action=decision.action,
            ground=decision.ground,
            ground_reference=decision.ground_reference,
            explanation=without_notifier(
                session, runtime, case_id=case.id, text=decision.explanation
            ),
            category_label=category.label,
            source=source,
            decided_at=decision.decided_at,
            facts=facts_text,
            restrict_mode=decision.restrict_mode,
            automated_detection=automated_detection,
            territorial_scope=tuple(decision.territorial_scope) or None,
            end_date=decision.end_date.date() if decision.end_date else None,
            appeal_until=appeal_until,
            appeal_url=url,
            authority=authority,
            account_suspended_until=account_suspended_until.date()
            if account_suspended_until
            else None,
        )
    )
    private = statement_private_names(session, runtime, case_id=case.id)
    tdb = build_tdb_statement(
        StatementFacts(
            statement_id=decision.id,
            action=decision.action,
            ground=decision.ground,
            ground_reference=decision.ground_reference,
            explanation=decision.explanation,
            category=category,
            source=source,
            decision_facts=facts_text,
            content_date=(repo.created_at or case.opened_at).date(),
            application_date=decision.decided_at.date(),
            automated_detection=automated_detection,
            restrict_mode=decision.restrict_mode,
            legal_hold=case.legal_hold_until is not None,
            sample_images=bool(hits),
            territorial_scope=tuple(s for s in decision.territorial_scope) or None,
            end_date_account_restriction=decision.end_date.date()
            if decision.end_date and decision.action == DecisionAction.SUSPEND_UPLOADER
            else (account_suspended_until.date() if account_suspended_until else None),
            account_suspended=account_suspended_until is not None,
            automated_decision="partially" if account_suspended_until else "not",
            source_identity=authority if source == "order" else None,
            puid_prefix=runtime.settings.tdb_puid_prefix,
            private_names=tuple(private),
        )
    )
    problems = validate_tdb_statement(tdb)
    if problems:  # a bug in the builder: refuse rather than store an invalid statement
        raise InvalidInput(
            "the statement of reasons is not valid for the Transparency Database: "
            + "; ".join(problems[:3]),
            code="invalid_statement",
        )
    statement = StatementOfReasons(
        decision_id=decision.id, case_id=case.id, puid=tdb["puid"], text=text, tdb=tdb
    )
    session.add(statement)
    session.flush()
    record(
        session,
        actor=decision.actor,
        action="case.statement_of_reasons",
        subject=f"case:{case.id}",
        details={"statement": statement.id, "puid": statement.puid},
    )
    return statement


def statement_private_names(session: Session, runtime: Runtime, *, case_id: int) -> tuple[str, ...]:
    """Names the Transparency Database form of a case's statements must not carry: the repo id
    (it holds the uploader's user name), the uploader's user name, and the names and e-mail
    addresses the notifiers gave (decrypted here, never stored in the clear)."""
    get_case(session, case_id)  # NotFound for a case that does not exist
    return private_names_by_case(session, runtime, [case_id])[case_id]


def private_names_by_case(
    session: Session, runtime: Runtime, case_ids
) -> dict[int, tuple[str, ...]]:
    """`statement_private_names` of many cases in four queries, whatever their number (exports)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    cases = session.exec(select(Case).where(col(Case.id).in_(ids))).all()
    repos = {
        r.id: r
        for r in session.exec(
            select(ModelRepo).where(col(ModelRepo.id).in_({c.repo_pk for c in cases}))
        )
    }
    uploader_ids = {r.uploader_id for r in repos.values() if r.uploader_id}
    uploaders = {
        u.id: u for u in session.exec(select(Uploader).where(col(Uploader.id).in_(uploader_ids)))
    }
    names: dict[int, list[str]] = {}
    for case in cases:
        assert case.id is not None  # read from the database
        repo = repos[case.repo_pk]
        uploader = uploaders.get(repo.uploader_id)
        names[case.id] = [repo.repo_id, *repo.repo_id.split("/")]
        if uploader and uploader.username:
            names[case.id].append(uploader.username)
    for case_id, found in _notifier_names_by_case(session, runtime, ids).items():
        names[case_id] += found
    return {case_id: tuple(dict.fromkeys(found)) for case_id, found in names.items()}


def _facts_text(*, case: Case, evidence: list[CaseEvidence], source: str) -> str:
    """Facts and circumstances, in words that hold no personal data."""
    notices = sum(1 for e in evidence if e.kind == "notice")
    orders = sum(1 for e in evidence if e.kind == "order")
    hits = [e for e in evidence if e.source in AUTOMATED_SOURCES]
    parts = ["The decision concerns an AI model repository hosted on the platform."]
    if notices:
        parts.append(f"We received {notices} notice(s) about it.")
    if orders:
        parts.append(f"We received {orders} order(s) from a competent authority about it.")
    if hits:
        parts.append(
            f"Automated checks produced {len(hits)} finding(s): "
            + ", ".join(sorted({e.kind.replace("_", " ") for e in hits}))
            + "."
        )
    parts.append("A moderator reviewed the repository and the evidence before deciding.")
    return " ".join(parts)
