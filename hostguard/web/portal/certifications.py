"""Portal pages where an uploader reads and signs the certification statements for a revision."""

from __future__ import annotations

from flask import g, render_template, request

from hostguard.errors import HostguardError, InvalidInput, NotFound
from hostguard.platform.service import find_repo
from hostguard.uploads.certifications import REPO_WIDE, certify, owed_statements
from hostguard.uploads.receipts import model_card_metadata
from hostguard.web.access import actor, db, portal_route, runtime
from hostguard.web.forms import FormError, form_error
from hostguard.web.portal import bp
from hostguard.web.portal.kyu import portal_uploader
from hostguard.web.security import csrf


@portal_route(bp, "/certifications", methods=["GET", "POST"], purpose="certification")
def certifications_page():
    if request.method == "POST":
        csrf.protect()  # after the link check, so a bad link is told as such
    claims = g.portal_claims
    uploader = portal_uploader()
    repo = find_repo(db(), claims.get("repo", ""), claims.get("rt", "model"))
    if repo is None:
        raise NotFound(
            "this link does not name a repository we know; open it from the platform again"
        )
    revision, visibility = claims.get("rev") or "", claims.get("vis", "public")
    policy = runtime().policy
    repo_scope = policy.certifications.scope == "repo"
    if not revision or revision == REPO_WIDE:
        if not repo_scope:
            raise InvalidInput(
                "this link names no revision, and each revision is certified on its own; "
                "open the link the platform gives for your upload",
                code="revision_required",
            )
        revision = REPO_WIDE  # a link for the repo, e.g. before its first push
    owed = owed_statements(
        db(), uploader=uploader, repo=repo, revision=revision, visibility=visibility, policy=policy
    )
    error, receipt = None, None
    if request.method == "POST" and owed:
        form = request.form
        given = [
            {
                "id": st.id,
                "version": int(form.get(f"{st.id}__version", 0) or 0),
                "accepted": form.get(f"{st.id}__accepted") == "yes",
                "fields": {f.name: form.get(f"{st.id}__{f.name}", "") for f in st.fields},
            }
            for st in owed
        ]
        missing = [st for st, item in zip(owed, given, strict=True) if not item["accepted"]]
        try:
            if missing:
                raise InvalidInput(
                    "Tick the box under each statement you certify: "
                    + ", ".join(st.title for st in missing)
                    + "."
                )
            cert = certify(
                session=db(),
                runtime=runtime(),
                actor=actor(),
                uploader=uploader,
                repo=repo,
                revision=revision,
                statements=given,
                signed_name=form.get("signed_name", ""),
                policy=policy,
                via="portal",
            )
        except HostguardError as exc:
            error = _certification_error(exc, owed, missing)
        else:
            receipt = cert.receipt
            owed = []
    import json

    return render_template(
        "portal/certifications.html",
        repo=repo,
        revision=revision,
        repo_scope=repo_scope,
        repo_wide=revision == REPO_WIDE,
        owed=owed,
        error=error,
        receipt_json=json.dumps(receipt, indent=2) if receipt else None,
        card_yaml=model_card_metadata(receipt) if receipt else None,
        form=request.form,
        token=g.portal_token,
    ), (422 if error else 200)


def _certification_error(exc: HostguardError, owed: list, missing: list) -> FormError:
    """The error pointed at the statement's checkbox or field it concerns."""
    if missing:
        return FormError(
            exc.message,
            {f"{st.id}__accepted": f"Tick this box to certify “{st.title}”." for st in missing},
            other=exc.message,
        )
    phrases = [(f"statement {st.id} must be accepted", f"{st.id}__accepted") for st in owed]
    phrases += [
        (f"statement {st.id}: '{fld.label}'", f"{st.id}__{fld.name}")
        for st in owed
        for fld in st.fields
    ]
    return form_error(exc, codes={"signed_name_required": "signed_name"}, phrases=phrases)


csrf.exempt(
    certifications_page
)  # checked inside the view, once the portal link is known to be good
