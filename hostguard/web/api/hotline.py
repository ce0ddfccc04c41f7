"""Hotline report API: the filings legal records on a case, and extending the preservation."""

from __future__ import annotations

from datetime import datetime

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from hostguard.accounts.models import LEGAL
from hostguard.cases import hotline
from hostguard.web.access import actor, api_route, db, json_body, runtime
from hostguard.web.api import bp
from hostguard.web.api.cases import MODERATOR, staff_user
from hostguard.workflows import evidence as evidence_workflow

TAGS = ["cases"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportedMediaBody(_Body):
    path: str = Field(max_length=1000)
    classification: str = Field(max_length=4, description="A1, A2, B1 or B2")


class HotlineReportBody(_Body):
    hotline: str = Field(
        max_length=100, description="e.g. NCMEC CyberTipline, or the INHOPE member"
    )
    reference: str = Field(max_length=200, description="the report number the hotline answered")
    filed_at: datetime | None = Field(default=None, description="when it was filed (default now)")
    incident_type: str | None = Field(default=None, max_length=200)
    media: list[ReportedMediaBody] = Field(default_factory=list, max_length=1000)


class PreservationBody(_Body):
    until: datetime = Field(description="the new end of the preservation")
    reason: str = Field(max_length=1000)


@api_route(
    bp,
    "/cases/<int:case_id>/hotline-reports",
    methods=["POST"],
    scopes=MODERATOR,
    body=HotlineReportBody,
    summary="Record a report filed with a hotline (legal role); preserves the evidence for a "
    "year and tells the platform by a case.preservation webhook",
    responses={201: "the filing recorded"},
    tags=TAGS,
)
def post_hotline_report(case_id: int):
    staff_user(LEGAL, what="record hotline reports (legal)")
    body = json_body(HotlineReportBody)
    report = evidence_workflow.file_hotline_report(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        case_id=case_id,
        hotline_name=body.hotline,
        reference=body.reference,
        policy=runtime().policy,
        filed_at=body.filed_at,
        incident_type=body.incident_type,
        media=[m.model_dump() for m in body.media],
    )
    return jsonify(hotline.hotline_report_json(report)), 201


@api_route(
    bp,
    "/cases/<int:case_id>/hotline-reports",
    scopes=MODERATOR,
    summary="The hotline reports recorded on a case (legal role)",
    tags=TAGS,
)
def list_hotline_reports(case_id: int):
    staff_user(LEGAL, what="read hotline reports (legal)")
    state = evidence_workflow.preservation_state(db(), case_id)
    return jsonify(
        {
            "items": [hotline.hotline_report_json(r) for r in state["reports"]],
            "preserve_until": state["preserve_until"].isoformat()
            if state["preserve_until"]
            else None,
        }
    )


@api_route(
    bp,
    "/cases/<int:case_id>/preservation",
    methods=["POST"],
    scopes=MODERATOR,
    body=PreservationBody,
    summary="Extend the preservation of a case's evidence (legal role), with a reason; audited, "
    "and the platform is told by a case.preservation webhook",
    tags=TAGS,
)
def extend_preservation(case_id: int):
    user = staff_user(LEGAL, what="extend preservation (legal)")
    body = json_body(PreservationBody)
    case = evidence_workflow.extend_preservation(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        case_id=case_id,
        until=body.until,
        reason=body.reason,
    )
    assert case.legal_hold_until is not None  # just extended
    return jsonify(
        {
            "case_id": case.id,
            "preserve_until": case.legal_hold_until.isoformat(),
            "extended_by": user.actor,
        }
    )
