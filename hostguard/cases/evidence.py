"""Evidence under legal hold: what a hotline or NCMEC report needs, no images or list contents."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases.intake import _repo_and_uploader, get_case
from hostguard.cases.models import CaseEvidence, Decision
from hostguard.db.types import utcnow


class PackageCase(TypedDict):
    id: int | None
    category: str
    status: str
    opened_at: str
    decided_at: str | None
    legal_hold_until: str | None


class PackageContent(TypedDict):
    repo_id: str
    repo_type: str
    revision: str | None
    visibility: str
    first_seen_at: str


class PackageKyuSubmission(TypedDict):
    """A know-your-uploader submission's status (never its personal data)."""

    id: int | None
    status: str
    submitted_at: str | None


class PackageUploader(TypedDict):
    platform_id: str
    username: str | None
    status: str
    # added by `hostguard.workflows.evidence.report_package`, which reads the uploads domain
    kyu: NotRequired[list[PackageKyuSubmission]]


class PackageEvidence(TypedDict):
    source: str
    kind: str
    ref: str | None
    automated: bool
    at: str
    details: dict[str, Any]


class PackageDecision(TypedDict):
    id: int | None
    action: str
    ground: str
    ground_reference: str
    decided_at: str
    decided_by: str


class ReportPackage(TypedDict):
    """`report_package`: a case's evidence metadata for a hotline / NCMEC report."""

    format: str
    generated_at: str
    case: PackageCase
    content: PackageContent
    uploader: PackageUploader | None
    evidence: list[PackageEvidence]
    decisions: list[PackageDecision]


def report_package(*, session: Session, case_id: int, actor: str) -> ReportPackage:
    """What a hotline / NCMEC CyberTipline report needs: evidence metadata, never images or list contents."""
    case = get_case(session, case_id)
    repo, uploader = _repo_and_uploader(session, case)
    evidence = list(
        session.exec(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case.id)
            .order_by(col(CaseEvidence.id))
        )
    )
    decisions = list(
        session.exec(select(Decision).where(Decision.case_id == case.id).order_by(col(Decision.id)))
    )
    package: ReportPackage = {
        "format": "hostguard-report-package/1",
        "generated_at": utcnow().isoformat(),
        "case": {
            "id": case.id,
            "category": case.category,
            "status": case.status,
            "opened_at": case.opened_at.isoformat(),
            "decided_at": case.decided_at.isoformat() if case.decided_at else None,
            "legal_hold_until": case.legal_hold_until.isoformat()
            if case.legal_hold_until
            else None,
        },
        "content": {
            "repo_id": repo.repo_id,
            "repo_type": repo.repo_type,
            "revision": repo.last_revision,
            "visibility": repo.visibility,
            "first_seen_at": repo.created_at.isoformat(),
        },
        "uploader": (
            {
                "platform_id": uploader.platform_id,
                "username": uploader.username,
                "status": uploader.status,
            }
            if uploader
            else None
        ),
        "evidence": [
            {
                "source": e.source,
                "kind": e.kind,
                "ref": e.ref,
                "automated": e.automated,
                "at": e.at.isoformat(),
                "details": e.details,
            }
            for e in evidence
        ],
        "decisions": [
            {
                "id": d.id,
                "action": d.action,
                "ground": d.ground,
                "ground_reference": d.ground_reference,
                "decided_at": d.decided_at.isoformat(),
                "decided_by": d.actor,
            }
            for d in decisions
        ],
    }
    record(session, actor=actor, action="case.report_package", subject=f"case:{case.id}")
    return package
