"""Hotline reports of child sexual abuse material and the preservation they start.

Legal files a report with a hotline (NCMEC's CyberTipline, or an INHOPE member hotline) from the
report package and records the filing here: the hotline, its reference number, when and by
whom, the incident type and each reported file's industry classification. 18 U.S.C. 2258A(h),
as amended by the REPORT Act (2024), has the provider preserve a report's contents for one year
from the report (`cases.hotline_preservation_days`) and lets it keep them longer; legal extends
the preservation with a reason, audited. Preservation is the case's legal hold
(`Case.legal_hold_until`), which the retention sweeps already respect; it only ever grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases.intake import get_case
from hostguard.cases.models import Case, CaseEvidence, HotlineReport
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput
from hostguard.policy import Policy

# The industry classification system (the Tech Coalition's, used by NCMEC's hash sharing and
# the CyberTipline's file details): the minor's apparent age group and what is depicted.
INDUSTRY_CLASSIFICATIONS = {
    "A1": "Prepubescent minor: a sex act",
    "A2": "Prepubescent minor: a lascivious exhibition",
    "B1": "Pubescent minor: a sex act",
    "B2": "Pubescent minor: a lascivious exhibition",
}
# The CyberTipline's incident types a hosting provider reports (its reporting API's
# "incidentType"); child sexual abuse material is the first.
INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
)
DEFAULT_INCIDENT_TYPE = INCIDENT_TYPES[0]
MIN_REASON_CHARS = 10


class ReportedFile(TypedDict):
    """A file the hotline report names: where it was, its digests, the list it matched."""

    path: str
    size: int | None
    md5: str | None
    sha256: str | None
    pdq: str | None
    lists: list[str]
    match_categories: list[str]
    revision: str | None
    evidence_id: int | None


def _fields(errors: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    """Every bad field at once, in the shape the API gives a body that fails validation."""
    return {"fields": [{"field": f, "problem": p} for f, p in errors.items()]}


def reported_files(evidence: Iterable[CaseEvidence]) -> list[ReportedFile]:
    """The matched files of a case's hash-match evidence (names, sizes, digests, list names).

    Grouped by path, as a report names each file once however many lists it matched.
    """
    files: dict[str, ReportedFile] = {}
    for e in evidence:
        if e.kind != "hash_match":
            continue
        details = e.details or {}
        digests: Mapping = details.get("file_digests") or {}
        for match in details.get("matches") or []:
            path = match.get("path")
            if not path:
                continue
            d = digests.get(path) or {}
            entry = files.setdefault(
                path,
                {
                    "path": path,
                    "size": d.get("size"),
                    "md5": d.get("md5"),
                    "sha256": d.get("sha256"),
                    "pdq": d.get("pdq"),
                    "lists": [],
                    "match_categories": [],
                    "revision": details.get("revision"),
                    "evidence_id": e.id,
                },
            )
            if match.get("list") and match["list"] not in entry["lists"]:
                entry["lists"].append(match["list"])
            cat = match.get("category")
            if cat and cat not in entry["match_categories"]:
                entry["match_categories"].append(cat)
    return list(files.values())


def case_evidence(session: Session, case: Case) -> list[CaseEvidence]:
    return list(
        session.exec(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case.id)
            .order_by(col(CaseEvidence.id))
        )
    )


def hotline_reports(session: Session, case_id: int) -> list[HotlineReport]:
    return list(
        session.exec(
            select(HotlineReport)
            .where(HotlineReport.case_id == case_id)
            .order_by(col(HotlineReport.filed_at), col(HotlineReport.id))
        )
    )


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                "filed_at: give the time as ISO 8601, e.g. 2026-12-07T10:30:00Z",
                code="invalid_filed_at",
                details={"field": "filed_at"},
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def reportable(case: Case, policy: Policy) -> bool:
    """A hotline report is for the legal-hold categories (child sexual abuse material)."""
    category = policy.categories.get(case.category)
    return category is not None and category.legal_hold


def file_hotline_report(
    *,
    session: Session,
    actor: str,
    case_id: int,
    hotline: str,
    reference: str,
    policy: Policy,
    filed_at: datetime | str | None = None,
    incident_type: str | None = None,
    media: Iterable[Mapping[str, str]] = (),
) -> HotlineReport:
    """Record that legal filed the case with a hotline; the preservation runs a year from then.

    `media`: each reported file's `path` and industry `classification` (A1, A2, B1, B2), as legal
    graded it for the hotline's form. Every bad field is named at once.
    """
    case = get_case(session, case_id)
    if not reportable(case, policy):
        raise InvalidInput(
            f"a hotline report is for child sexual abuse material; this case is {case.category}",
            code="not_reportable",
        )
    errors: dict[str, str] = {}
    hotline = (hotline or "").strip()
    reference = (reference or "").strip()
    if not hotline or len(hotline) > 100:
        errors["hotline"] = (
            "hotline: name the hotline (e.g. NCMEC CyberTipline, or the INHOPE member)"
        )
    if not reference or len(reference) > 200:
        errors["reference"] = "reference: give the report number the hotline answered"
    incident = (incident_type or DEFAULT_INCIDENT_TYPE).strip()
    if incident not in INCIDENT_TYPES:
        errors["incident_type"] = f"incident_type: one of {'; '.join(INCIDENT_TYPES)}"
    when = utcnow()
    try:
        when = _moment(filed_at) or when
    except InvalidInput as exc:
        errors["filed_at"] = exc.message
    else:
        if when > utcnow() + timedelta(minutes=5):
            errors["filed_at"] = "filed_at: the filing time is in the future"
    known = {f["path"] for f in reported_files(case_evidence(session, case))}
    graded: list[dict[str, str]] = []
    bad: list[str] = []
    for item in media:
        path = str(item.get("path") or "").strip()
        grade = str(item.get("classification") or "").strip().upper()
        if path not in known or grade not in INDUSTRY_CLASSIFICATIONS:
            bad.append(f"{path or '(no path)'}: {grade or '(no grade)'}")
        else:
            graded.append({"path": path, "classification": grade})
    if bad:
        errors["media"] = (
            "media: each file must be one of the case's matched files, graded A1, A2, B1 or B2 "
            f"({', '.join(bad)})"
        )
    if errors:
        raise InvalidInput(
            "; ".join(errors.values()), code="invalid_hotline_report", details=_fields(errors)
        )
    assert case.id is not None  # read from the database
    duplicate = session.exec(
        select(HotlineReport.id).where(
            HotlineReport.case_id == case.id,
            HotlineReport.hotline == hotline,
            HotlineReport.reference == reference,
        )
    ).first()
    if duplicate is not None:
        raise Conflict(
            f"this case's report {reference} to {hotline} is already recorded",
            code="hotline_report_exists",
        )
    preserve_until = when + timedelta(days=policy.cases.hotline_preservation_days)
    report = HotlineReport(
        case_id=case.id,
        hotline=hotline,
        reference=reference,
        incident_type=incident,
        media=graded,
        filed_at=when,
        filed_by=actor,
        preserve_until=preserve_until,
    )
    session.add(report)
    if case.legal_hold_until is None or case.legal_hold_until < preserve_until:
        case.legal_hold_until = preserve_until
    session.add(case)
    session.flush()
    record(
        session,
        actor=actor,
        action="case.hotline_report",
        subject=f"case:{case.id}",
        details={
            "hotline": hotline,
            "reference": reference,
            "filed_at": when.isoformat(),
            "preserve_until": preserve_until.isoformat(),
            "files": len(graded),
        },
    )
    return report


def extend_preservation(
    *,
    session: Session,
    actor: str,
    case_id: int,
    until: datetime | str,
    reason: str,
) -> Case:
    """Keep a case's evidence longer than the year (18 U.S.C. 2258A(h)(5)), with a reason."""
    case = get_case(session, case_id)
    errors: dict[str, str] = {}
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        errors["reason"] = (
            f"reason: say why the evidence is kept longer (at least {MIN_REASON_CHARS} "
            "characters), e.g. a law-enforcement request"
        )
    try:
        when = _moment(until)
    except InvalidInput:
        when = None
    if when is None:
        errors["until"] = "until: give the new end date as YYYY-MM-DD or ISO 8601"
    elif case.legal_hold_until is not None and when <= case.legal_hold_until:
        errors["until"] = (
            f"until: the evidence is already preserved until {case.legal_hold_until:%Y-%m-%d}; "
            "an extension ends later"
        )
    elif when <= utcnow():
        errors["until"] = "until: the new end date is in the past"
    if errors:
        raise InvalidInput(
            "; ".join(errors.values()), code="invalid_extension", details=_fields(errors)
        )
    assert when is not None  # checked above
    previous = case.legal_hold_until
    case.legal_hold_until = when
    session.add(case)
    session.flush()
    record(
        session,
        actor=actor,
        action="case.preservation_extend",
        subject=f"case:{case.id}",
        reason=text[:1000],
        details={
            "from": previous.isoformat() if previous else None,
            "until": when.isoformat(),
        },
    )
    return case


def hotline_report_json(report: HotlineReport) -> dict:
    return {
        "id": report.id,
        "case_id": report.case_id,
        "hotline": report.hotline,
        "reference": report.reference,
        "incident_type": report.incident_type,
        "media": list(report.media or []),
        "filed_at": report.filed_at.isoformat(),
        "filed_by": report.filed_by,
        "preserve_until": report.preserve_until.isoformat(),
    }
