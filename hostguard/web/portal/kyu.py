"""Portal pages where an uploader hands in their identity details (know-your-uploader)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlmodel import select

from hostguard.errors import HostguardError, InvalidInput, NotFound
from hostguard.platform.models import Uploader
from hostguard.platform.tokens import make_portal_token
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import KyuStatus
from hostguard.web.access import actor, db, portal_route, runtime
from hostguard.web.forms import form_error
from hostguard.web.portal import bp
from hostguard.web.security import csrf

FORM_STATUSES = {
    None,
    KyuStatus.REQUIRES_INPUT,
    KyuStatus.REJECTED,
    KyuStatus.EXPIRED,
    KyuStatus.REDACTED,
    KyuStatus.NEEDS_INFORMATION,
}
DOCUMENT_ERRORS = {
    "document_empty": "id_document",
    "document_too_large": "id_document",
    "document_type": "id_document",
}
# the KYU check lists every bad field in one message, each part opening with the field's name
DETAIL_PHRASES = (
    ("legal name", "legal_name"),
    ("address", "address"),
    ("country", "country"),
    ("date of birth", "date_of_birth"),
    ("the uploader must be at least", "date_of_birth"),
)


def portal_uploader() -> Uploader:
    uploader = (
        db().exec(select(Uploader).where(Uploader.platform_id == g.uploader_platform_id)).first()
    )
    if uploader is None:
        raise NotFound("we have no record of this account; open the link from the platform again")
    return uploader


@portal_route(bp, "/kyu", methods=["GET", "POST"], purpose="kyu")
def kyu_page():
    uploader = portal_uploader()
    policy = runtime().policy
    error, values = None, {}
    if request.method == "POST":
        csrf.protect()  # after the link check, so a bad link is told as such
        values = {
            k: request.form.get(k, "")
            for k in ("legal_name", "address", "country", "date_of_birth")
        }
        document = request.files.get("id_document")
        try:
            if document is None or not document.filename:
                raise InvalidInput(
                    "Choose a photo or scan of your ID document.", details={"field": "id_document"}
                )
            kyu_service.submit_kyu(
                session=db(),
                runtime=runtime(),
                actor=actor(),
                uploader=uploader,
                policy=policy,
                document=document.read(policy.kyu.max_document_bytes + 1),
                **values,
            )
        except HostguardError as exc:
            error = form_error(exc, codes=DOCUMENT_ERRORS, phrases=DETAIL_PHRASES)
        else:
            flash("Thank you. Your details were sent for review.", "success")
            return redirect(url_for("portal.kyu_page", token=g.portal_token))
    submission = kyu_service.latest_submission(db(), uploader)
    status = kyu_service.effective_status(submission)
    return render_template(
        "portal/kyu.html",
        status=status,
        submission=submission,
        error=error,
        values=values,
        show_form=status in FORM_STATUSES,
        token=g.portal_token,
        max_mb=policy.kyu.max_document_bytes // (1024 * 1024),
        cert_url=_cert_url(),
    ), (422 if error else 200)


csrf.exempt(kyu_page)  # checked inside the view, once the portal link is known to be good


def _cert_url() -> str | None:
    claims = g.portal_claims
    if not claims.get("repo"):
        return None
    token = make_portal_token(
        runtime(),
        g.uploader_platform_id,
        purpose="certification",
        extra={k: claims[k] for k in ("repo", "rt", "rev", "vis", "c") if k in claims},
    )
    return url_for("portal.certifications_page", token=token)
