"""The package a legal team sends to a hotline: the case's evidence with the uploader's KYU history.

The case, its evidence and decisions are the cases domain's (`hostguard.cases.evidence`); the
uploader's know-your-uploader submissions are the uploads domain's: this adds their statuses
(never their personal data, which legal reads in the console with every view logged).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from hostguard.cases import evidence
from hostguard.cases.evidence import ReportPackage
from hostguard.cases.models import Case
from hostguard.platform.models import ModelRepo
from hostguard.uploads.models import KyuSubmission


def report_package(*, session: Session, case_id: int, actor: str) -> ReportPackage:
    """`hostguard.cases.evidence.report_package` with the uploader's KYU submissions' statuses."""
    package = evidence.report_package(session=session, case_id=case_id, actor=actor)
    if package["uploader"] is not None:
        case = session.get(Case, case_id)
        repo = session.get(ModelRepo, case.repo_pk) if case is not None else None
        submissions = session.exec(
            select(KyuSubmission)
            .where(KyuSubmission.uploader_pk == (repo.uploader_id if repo else None))
            .order_by(col(KyuSubmission.id))
        )
        package["uploader"]["kyu"] = [
            {
                "id": sub.id,
                "status": sub.status,
                "submitted_at": sub.submitted_at.isoformat() if sub.submitted_at else None,
            }
            for sub in submissions
        ]
    return package
