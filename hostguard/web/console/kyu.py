"""Console pages where the legal team reviews know-your-uploader submissions.

Personal data is shown only to the `legal` role, only after the reviewer gives a reason, and
every such view is written to the personal-data access log and the audit trail.
"""

from __future__ import annotations

import base64

from flask import flash, g, make_response, redirect, render_template, request, url_for
from sqlmodel import col, select

from hostguard.accounts.models import LEGAL
from hostguard.errors import HostguardError
from hostguard.platform.models import Uploader
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import KyuStatus, KyuSubmission, PersonalDataAccess, UploadCheck
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@staff_route(bp, "/kyu", roles=LEGAL)
def kyu_list():
    status = request.args.get("status", KyuStatus.PENDING_REVIEW)
    query = select(KyuSubmission, Uploader).join(
        Uploader, col(Uploader.id) == col(KyuSubmission.uploader_pk)
    )
    if status != "all":
        query = query.where(KyuSubmission.status == status)
    rows = (
        db()
        .exec(query.order_by(col(KyuSubmission.submitted_at), col(KyuSubmission.id)).limit(500))
        .all()
    )
    return render_template(
        "console/kyu_list.html", rows=rows, status=status, statuses=[s.value for s in KyuStatus]
    )


def _submission_page(
    kyu_id: int, *, details=None, document=None, error=None, status_code=200, view_reason: str = ""
):
    session = db()
    sub = kyu_service.get_submission(session, kyu_id)
    uploader = session.get(Uploader, sub.uploader_pk)
    assert uploader is not None  # uploader_pk is a non-null foreign key
    accesses = session.exec(
        select(PersonalDataAccess)
        .where(PersonalDataAccess.kyu_pk == sub.id)
        .order_by(col(PersonalDataAccess.id).desc())
        .limit(20)
    ).all()
    checks = session.exec(
        select(UploadCheck)
        .where(UploadCheck.uploader_pk == uploader.id)
        .order_by(col(UploadCheck.id).desc())
        .limit(10)
    ).all()
    html = render_template(
        "console/kyu_detail.html",
        sub=sub,
        uploader=uploader,
        details=details,
        document=document,
        accesses=accesses,
        checks=checks,
        error=error,
        status=kyu_service.effective_status(sub),
        view_reason=view_reason,
    )
    return _no_store(make_response(html, status_code))


@staff_route(bp, "/kyu/<int:kyu_id>", roles=LEGAL)
def kyu_detail(kyu_id: int):
    return _submission_page(kyu_id)


@staff_route(bp, "/kyu/<int:kyu_id>/view", roles=LEGAL, methods=["POST"])
def kyu_view_personal(kyu_id: int):
    reason = request.form.get("reason", "")
    try:
        details = kyu_service.read_personal_data(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            role=g.user.role,
            kyu_id=kyu_id,
            reason=reason,
        )
        document = None
        sub = kyu_service.get_submission(db(), kyu_id)
        if sub.document_ref and (sub.document_type or "").startswith("image/"):
            data, mime = kyu_service.read_id_document(
                session=db(),
                runtime=runtime(),
                actor=actor(),
                role=g.user.role,
                kyu_id=kyu_id,
                reason=reason,
            )
            document = {
                "mime": mime,
                "data_uri": f"data:{mime};base64,{base64.b64encode(data).decode()}",
            }
    except HostguardError as exc:
        db().rollback()
        return _submission_page(kyu_id, error=exc.message, status_code=422)
    return _submission_page(kyu_id, details=details, document=document, view_reason=reason)


@staff_route(bp, "/kyu/<int:kyu_id>/document", roles=LEGAL, methods=["POST"])
def kyu_document(kyu_id: int):
    """The ID document as a download (PDFs cannot be shown inline under the page's CSP)."""
    data, mime = kyu_service.read_id_document(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        role=g.user.role,
        kyu_id=kyu_id,
        reason=request.form.get("reason", ""),
    )
    response = make_response(data)
    response.headers["Content-Type"] = mime
    response.headers["Content-Disposition"] = (
        f"attachment; filename=kyu-{kyu_id}-document.{mime.rsplit('/', 1)[-1]}"
    )
    return _no_store(response)


@staff_route(bp, "/kyu/<int:kyu_id>/verify", roles=LEGAL, methods=["POST"])
def kyu_verify(kyu_id: int):
    kyu_service.verify_kyu(session=db(), actor=actor(), kyu_id=kyu_id, policy=runtime().policy)
    flash(f"Submission {kyu_id} approved.", "success")
    return redirect(url_for("console.kyu_list"))


@staff_route(bp, "/kyu/<int:kyu_id>/reject", roles=LEGAL, methods=["POST"])
def kyu_reject(kyu_id: int):
    try:
        kyu_service.reject_kyu(
            session=db(), actor=actor(), kyu_id=kyu_id, reason=request.form.get("reason", "")
        )
    except HostguardError as exc:
        db().rollback()
        return _submission_page(kyu_id, error=exc.message, status_code=422)
    flash(f"Submission {kyu_id} rejected; the uploader will see your reason.", "success")
    return redirect(url_for("console.kyu_list"))


@staff_route(bp, "/kyu/<int:kyu_id>/needs-information", roles=LEGAL, methods=["POST"])
def kyu_needs_information(kyu_id: int):
    """Ask the uploader to add something; the submission stays and the portal shows the request."""
    try:
        kyu_service.request_kyu_information(
            session=db(), actor=actor(), kyu_id=kyu_id, request=request.form.get("request", "")
        )
    except HostguardError as exc:
        db().rollback()
        return _submission_page(kyu_id, error=exc.message, status_code=422)
    flash(
        f"Submission {kyu_id} is waiting for the uploader: the portal shows them what to add.",
        "success",
    )
    return redirect(url_for("console.kyu_list"))


@staff_route(bp, "/kyu/<int:kyu_id>/redact", roles=LEGAL, methods=["POST"])
def kyu_redact(kyu_id: int):
    """Erase the submission's personal data and document now (on request, for instance); audited
    with the reason, which is required."""
    reason = request.form.get("reason", "").strip()
    if not 5 <= len(reason) <= 500:
        return _submission_page(
            kyu_id,
            error="Give the reason for redacting (5 to 500 characters), for example the "
            "uploader's erasure request and its date.",
            status_code=422,
        )
    try:
        kyu_service.redact_kyu(
            session=db(), runtime=runtime(), actor=actor(), kyu_id=kyu_id, reason=reason
        )
    except HostguardError as exc:
        db().rollback()
        return _submission_page(kyu_id, error=exc.message, status_code=409)
    flash(f"Submission {kyu_id} is redacted: its personal data and document are erased.", "success")
    return redirect(url_for("console.kyu_list"))
