"""Opening cases and joining new evidence to the model's open case."""

from __future__ import annotations

from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.cases.models import OPEN_STATUSES, Case, CaseEvidence, CaseSource
from hostguard.platform.models import ModelRepo

# Higher runs first. Child sexual abuse material outranks everything; orders and trusted
# flaggers outrank the public; automatic hits sit between.
CATEGORY_SEVERITY = {
    "child_sexual_abuse": 1000,
    "terrorism": 600,
    "non_consensual_intimate_imagery": 600,
    "violence": 400,
    "hate": 300,
    "fraud": 250,
    "privacy": 200,
    "intellectual_property": 150,
    "other": 100,
}
SOURCE_WEIGHT = {
    CaseSource.ORDER: 300,
    CaseSource.HASH_MATCH: 250,
    CaseSource.RETROACTIVE_MATCH: 250,
    CaseSource.TRUSTED_FLAGGER: 200,
    CaseSource.UPLOAD_CHECK: 100,
    CaseSource.NOTICE: 50,
    CaseSource.OWN_INITIATIVE: 50,
}


def priority_for(category: str, source: str) -> int:
    return CATEGORY_SEVERITY.get(category, 100) + SOURCE_WEIGHT.get(source, 0)


def open_case(*, session: Session, repo: ModelRepo, source: str, category: str, actor: str,
              kind: str, ref: str | None = None, details: dict | None = None,
              automated: bool = False, summary: str = "") -> Case:
    """Open a case for the repo, or add this evidence to its open case (one open case per model).

    `details` must never hold image bytes or hash-list contents: match details only.
    """
    case = session.exec(
        select(Case).where(Case.repo_pk == repo.id, Case.status.in_(OPEN_STATUSES))
        .with_for_update()
    ).first()
    prio = priority_for(category, source)
    if case is None:
        case = Case(repo_pk=repo.id, category=category, source=source, priority=prio,
                    summary=summary[:2000])
        session.add(case)
        session.flush()
        record(session, actor=actor, action="case.open", subject=f"case:{case.id}",
               details={"source": source, "category": category, "repo": repo.repo_id})
    elif prio > case.priority:
        case.priority, case.category, case.source = prio, category, source
    session.add(CaseEvidence(case_id=case.id, source=source, kind=kind, ref=ref,
                             details=details or {}, automated=automated))
    record(session, actor=actor, action="case.evidence", subject=f"case:{case.id}",
           details={"source": source, "kind": kind, "ref": ref})
    session.flush()
    return case
