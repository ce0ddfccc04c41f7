"""Routes of the console surface for statements of reasons: their Transparency Database submission."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request

from hostguard.accounts.models import AUDIT_READERS, CASE_WORKERS
from hostguard.cases.statements.submission import (
    SubmissionState,
    counts,
    list_submissions,
    waiting_for_a_person,
)
from hostguard.web.access import db, runtime, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/statements", roles=CASE_WORKERS | AUDIT_READERS)
def statements():
    """Each statement's submission state and last error; failed ones first."""
    session = db()
    state = request.args.get("state", "")
    if state not in {s.value for s in SubmissionState}:
        state = ""
    settings = runtime().settings
    return render_template(
        "console/statements.html",
        rows=list_submissions(session, state=state or None),
        counts=counts(session),
        for_a_person=waiting_for_a_person(session),
        state=state,
        states=[s.value for s in SubmissionState],
        tdb_host=urlsplit(settings.tdb_url).netloc if settings.tdb_url else None,
        configured=bool(settings.tdb_url and settings.tdb_token),
        interval=settings.tdb_submit_interval,
    )
