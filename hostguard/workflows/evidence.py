"""The package a legal team sends to a hotline, the filings it records, and the preservation.

The case, its evidence, decisions and hotline filings are the cases domain's
(`hostguard.cases.evidence`, `hostguard.cases.hotline`); the uploader's know-your-uploader
submissions and the upload checks are the uploads domain's. The package is what a report to
NCMEC's CyberTipline or an INHOPE hotline asks for: the incident type, what was found (file
names, sizes, digests, the lists matched and legal's industry classification, never image
bytes), where and when (repo, revision, upload time, the uploader's IP address when the platform
gave it), who uploaded it (the uploader's identity from KYU, for the legal role only, each view
in the personal-data access log) and what was done. A filing starts the year of preservation;
the platform is told by a signed `case.preservation` webhook to keep its own copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from sqlmodel import Session, col, select

from hostguard.accounts.models import Role
from hostguard.audit.service import record
from hostguard.cases import evidence, hotline
from hostguard.cases.evidence import ReportPackage
from hostguard.cases.intake import get_case
from hostguard.cases.models import Case, HotlineReport
from hostguard.db.types import utcnow
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.webhooks import send_event
from hostguard.policy import Policy
from hostguard.uploads import kyu
from hostguard.uploads.models import KyuStatus, KyuSubmission, UploadCheck

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

PACKAGE_FORMAT = "hostguard-report-package/2"
PRESERVATION_EVENT = "case.preservation"


class HotlinePackage(ReportPackage):
    """`report_package`: the cases domain's package with what a hotline report needs."""

    incident: NotRequired[dict[str, Any]]
    files: NotRequired[list[dict[str, Any]]]
    identity: NotRequired[dict[str, Any]]
    actions: NotRequired[list[dict[str, Any]]]
    hotline_reports: NotRequired[list[dict[str, Any]]]
    preservation: NotRequired[dict[str, Any]]


class PreservationNotice(TypedDict):
    """The `case.preservation` webhook's payload: what the platform keeps, until when, why."""

    case_id: int
    repo_id: str
    repo_type: str
    revisions: list[str]
    files: list[str]
    uploader_platform_id: str | None
    preserve_until: str
    reason: str


def _submissions(session: Session, uploader: Uploader | None) -> list[KyuSubmission]:
    if uploader is None:
        return []
    return list(
        session.exec(
            select(KyuSubmission)
            .where(KyuSubmission.uploader_pk == uploader.id)
            .order_by(col(KyuSubmission.id))
        )
    )


def _upload_times(session: Session, refs: list[str]) -> dict[str, str]:
    """When each check behind a hash-match evidence answered first: the upload attempt's time."""
    ids = [r.removeprefix("check:") for r in refs if r and r.startswith("check:")]
    if not ids:
        return {}
    checks = session.exec(select(UploadCheck).where(col(UploadCheck.check_id).in_(ids)))
    return {f"check:{c.check_id}": c.created_at.isoformat() for c in checks}


def _identity(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    case: Case,
    uploader: Uploader | None,
    submissions: list[KyuSubmission],
    ips: dict[int, bytes],
) -> dict[str, Any]:
    """The uploader's identity for legal: KYU details, e-mail, IP addresses; every view logged."""
    reason = f"hotline report package for case {case.id}"
    verified = [s for s in submissions if s.status == KyuStatus.VERIFIED]
    candidates = verified or [s for s in submissions if s.submitted_at]
    chosen = candidates[-1] if candidates else None
    details = None
    if chosen is not None and chosen.id is not None:
        details = kyu.read_personal_data(
            session=session,
            runtime=runtime,
            actor=actor,
            role=Role.LEGAL,
            kyu_id=chosen.id,
            reason=reason,
        )
    keys = runtime.keys
    email = keys.decrypt_str(uploader.email_enc) if uploader and uploader.email_enc else None
    addresses = {evidence_id: keys.decrypt_str(token) for evidence_id, token in ips.items()}
    if email or addresses:
        record(
            session,
            actor=actor,
            action="personal_data.view",
            subject=f"case:{case.id}",
            reason=reason,
            details={
                "what": [w for w, v in (("email", email), ("ip_address", addresses)) if v],
                "uploader": uploader.platform_id if uploader else None,
            },
        )
    return {
        "kyu_id": chosen.id if chosen else None,
        "kyu_status": chosen.status if chosen else None,
        "kyu_verified_at": chosen.reviewed_at.isoformat()
        if chosen and chosen.reviewed_at and chosen.status == KyuStatus.VERIFIED
        else None,
        "details": details,
        "email": email,
        "ip_addresses": [
            {"evidence_id": evidence_id, "ip_address": ip} for evidence_id, ip in addresses.items()
        ],
    }


def report_package(
    *,
    session: Session,
    case_id: int,
    actor: str,
    runtime: Runtime | None = None,
    role: str | None = None,
) -> HotlinePackage:
    """The hotline report package; the uploader's identity only for the legal role (logged).

    Without `runtime` (or for another role than legal, such as an admin) the package says the
    identity is withheld; nothing personal is decrypted.
    """
    package: HotlinePackage = evidence.report_package(  # type: ignore[assignment]
        session=session, case_id=case_id, actor=actor
    )
    package["format"] = PACKAGE_FORMAT
    case = get_case(session, case_id)
    repo = session.get(ModelRepo, case.repo_pk)
    assert repo is not None  # cases.repo_pk is a foreign key to model_repos
    uploader = session.get(Uploader, repo.uploader_id) if repo.uploader_id else None
    submissions = _submissions(session, uploader)
    if package["uploader"] is not None:
        package["uploader"]["kyu"] = [
            {
                "id": sub.id,
                "status": sub.status,
                "submitted_at": sub.submitted_at.isoformat() if sub.submitted_at else None,
            }
            for sub in submissions
        ]
    rows = hotline.case_evidence(session, case)
    filings = hotline.hotline_reports(session, case_id)
    grades: dict[str, str] = {}
    for filing in filings:  # the latest filing's grade of a file wins
        grades.update({m["path"]: m["classification"] for m in filing.media or []})
    times = _upload_times(session, [e.ref or "" for e in rows if e.kind == "hash_match"])
    at_by_evidence = {e.id: (times.get(e.ref or "") or e.at.isoformat()) for e in rows}
    package["incident"] = {
        "type": filings[-1].incident_type if filings else hotline.DEFAULT_INCIDENT_TYPE,
        "category": case.category,
        "detected_by": "hash_match" if any(e.kind == "hash_match" for e in rows) else case.source,
        "automated": case.automated,
        "classifications": hotline.INDUSTRY_CLASSIFICATIONS,
    }
    package["files"] = [
        {
            **f,
            "industry_classification": grades.get(f["path"]),
            "repo_id": repo.repo_id,
            "uploaded_at": at_by_evidence.get(f["evidence_id"]),
        }
        for f in hotline.reported_files(rows)
    ]
    ips = {e.id: e.uploader_ip_enc for e in rows if e.id is not None and e.uploader_ip_enc}
    if runtime is not None and role == Role.LEGAL:
        package["identity"] = _identity(
            session=session,
            runtime=runtime,
            actor=actor,
            case=case,
            uploader=uploader,
            submissions=submissions,
            ips=ips,
        )
    else:
        package["identity"] = {
            "withheld": "the uploader's identity is shown to the legal role only",
            "ip_address_supplied": bool(ips),
        }
    package["actions"] = [
        {"action": f"decision:{d['action']}", "at": d["decided_at"], "by": d["decided_by"]}
        for d in package["decisions"]
    ] + [
        {"action": f"repo_status:{repo.status}", "at": None, "by": "platform"},
    ]
    package["hotline_reports"] = [hotline.hotline_report_json(r) for r in filings]
    package["preservation"] = {
        "until": case.legal_hold_until.isoformat() if case.legal_hold_until else None,
        "basis": "18 U.S.C. 2258A(h) as amended by the REPORT Act" if filings else "legal hold",
    }
    return package


def _preservation_notice(
    session: Session, *, case: Case, reason: str
) -> tuple[PreservationNotice, ModelRepo]:
    repo = session.get(ModelRepo, case.repo_pk)
    assert repo is not None and case.id is not None and case.legal_hold_until is not None
    uploader = session.get(Uploader, repo.uploader_id) if repo.uploader_id else None
    files = hotline.reported_files(hotline.case_evidence(session, case))
    revisions = sorted({f["revision"] for f in files if f["revision"]}) or (
        [repo.last_revision] if repo.last_revision else []
    )
    notice: PreservationNotice = {
        "case_id": case.id,
        "repo_id": repo.repo_id,
        "repo_type": repo.repo_type,
        "revisions": revisions,
        "files": [f["path"] for f in files],
        "uploader_platform_id": uploader.platform_id if uploader else None,
        "preserve_until": case.legal_hold_until.isoformat(),
        "reason": reason,
    }
    return notice, repo


def file_hotline_report(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    case_id: int,
    hotline_name: str,
    reference: str,
    policy: Policy,
    filed_at: Any = None,
    incident_type: str | None = None,
    media: list[dict[str, str]] | None = None,
) -> HotlineReport:
    """Record the filing, start the preservation and tell the platform to keep its copy."""
    report = hotline.file_hotline_report(
        session=session,
        actor=actor,
        case_id=case_id,
        hotline=hotline_name,
        reference=reference,
        policy=policy,
        filed_at=filed_at,
        incident_type=incident_type,
        media=media or [],
    )
    case = get_case(session, case_id)
    payload, _ = _preservation_notice(session, case=case, reason="hotline_report")
    send_event(
        session,
        runtime=runtime,
        event=PRESERVATION_EVENT,
        payload=dict(payload),
        delivery_id=f"preserve:{case_id}:r{report.id}",  # at most 36 characters
    )
    return report


def extend_preservation(
    *, session: Session, runtime: Runtime, actor: str, case_id: int, until: Any, reason: str
) -> Case:
    """Extend the preservation (audited, with its reason) and tell the platform the new date."""
    case = hotline.extend_preservation(
        session=session, actor=actor, case_id=case_id, until=until, reason=reason
    )
    payload, _ = _preservation_notice(session, case=case, reason="extended")
    assert case.legal_hold_until is not None  # just set
    send_event(
        session,
        runtime=runtime,
        event=PRESERVATION_EVENT,
        payload=dict(payload),
        delivery_id=f"preserve:{case_id}:{int(case.legal_hold_until.timestamp())}",
    )
    return case


def preservation_state(session: Session, case_id: int) -> dict[str, Any]:
    """What the console shows: the filings and how long the evidence is preserved."""
    case = get_case(session, case_id)
    return {
        "reports": hotline.hotline_reports(session, case_id),
        "preserve_until": case.legal_hold_until,
        "preserved": case.legal_hold_until is not None and case.legal_hold_until > utcnow(),
    }
