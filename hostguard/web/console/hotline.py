"""Console forms for legal on a case page: record a hotline report, extend the preservation."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from hostguard.accounts.models import LEGAL
from hostguard.errors import HostguardError
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp
from hostguard.web.console.cases import _render_case
from hostguard.web.forms import FormError, form_error
from hostguard.workflows import evidence as evidence_workflow


def _fields(exc: HostguardError) -> FormError:
    """Every field the domain named at once (`details["fields"]`), else the one it concerns."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, list) and fields:
        return FormError(exc.message, {f["field"]: f["problem"] for f in fields}, "")
    return form_error(exc)


@staff_route(bp, "/cases/<int:case_id>/hotline-reports", roles=LEGAL, methods=["POST"])
def case_hotline_report(case_id: int):
    form = request.form
    media = []
    for n in range(int(form.get("files", "0") or 0)):
        grade = form.get(f"classification_{n}", "").strip()
        if grade:
            media.append({"path": form.get(f"path_{n}", ""), "classification": grade})
    try:
        evidence_workflow.file_hotline_report(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            case_id=case_id,
            hotline_name=form.get("hotline", ""),
            reference=form.get("reference", ""),
            policy=runtime().policy,
            filed_at=form.get("filed_at") or None,
            incident_type=form.get("incident_type") or None,
            media=media,
        )
    except HostguardError as exc:
        return _render_case(
            case_id, hotline_form=form.to_dict(), hotline_error=_fields(exc), status=422
        )
    flash("The hotline report is recorded; the evidence is preserved for a year.", "success")
    return redirect(url_for("console.case_page", case_id=case_id) + "#h-hotline", code=303)


@staff_route(bp, "/cases/<int:case_id>/preservation", roles=LEGAL, methods=["POST"])
def case_preservation(case_id: int):
    form = request.form
    try:
        evidence_workflow.extend_preservation(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            case_id=case_id,
            until=form.get("until", ""),
            reason=form.get("reason", ""),
        )
    except HostguardError as exc:
        return _render_case(
            case_id, hotline_form=form.to_dict(), preservation_error=_fields(exc), status=422
        )
    flash("The preservation is extended.", "success")
    return redirect(url_for("console.case_page", case_id=case_id) + "#h-hotline", code=303)
