"""Routes of the console surface for hash-list administration: import a file (with progress),
replace, turn lists on and off, counts only (never a hash).

The import runs `hashing.service.import_list`, what `hostguard hashlist import` runs, in the
request's transaction: every valid line goes in or none does.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from hostguard.accounts.models import ADMINS
from hostguard.errors import HostguardError
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.service import ImportRefused, import_list, list_lists, set_enabled
from hostguard.policy import ListAction
from hostguard.web.access import actor, db, staff_route
from hostguard.web.console import bp
from hostguard.web.forms import FormError

ERRORS_SHOWN = 20


def _page(*, error: FormError | None = None, form=None, summary=None, status=200):
    return (
        render_template(
            "console/admin_hashlists.html",
            lists=list_lists(session=db()),
            algorithms=list(ALGORITHMS),
            actions=[a.value for a in ListAction],
            error=error,
            form=form or {},
            summary=summary,
            errors_shown=ERRORS_SHOWN,
        ),
        status,
    )


@staff_route(bp, "/admin/hashlists", roles=ADMINS)
def admin_hashlists():
    """The lists with their counts and switches, and the import form."""
    return _page()


@staff_route(bp, "/admin/hashlists/import", roles=ADMINS, methods=["POST"])
def admin_hashlist_import():
    form = request.form
    name = form.get("name", "").strip()
    upload = request.files.get("file")
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = "Give the list a name (letters, digits, '.', '_' or '-')."
    if upload is None or not upload.filename:
        fields["file"] = "Choose the list file to import."
    if form.get("algorithm") and form["algorithm"] not in ALGORITHMS:
        fields["algorithm"] = f"Choose an algorithm: {', '.join(ALGORITHMS)}."
    if fields:
        return _page(error=FormError("; ".join(fields.values()), fields), form=form, status=422)
    assert upload is not None  # checked just above
    session = db()
    try:
        summary = import_list(
            session=session,
            actor=actor(),
            name=name,
            data=upload.read(),
            algorithm=form.get("algorithm") or None,
            category=form.get("category") or None,
            action=form.get("action") or None,
            source=form.get("source") or None,
            replace=form.get("replace") == "1",
        )
    except ImportRefused as exc:
        session.rollback()
        return _page(
            error=FormError(exc.message, {}, exc.message),
            form=form,
            summary=exc.details["summary"],
            status=422,
        )
    except HostguardError as exc:
        session.rollback()
        return _page(error=FormError(exc.message, {}, exc.message), form=form, status=422)
    session.commit()
    return _page(summary=summary)


@staff_route(bp, "/admin/hashlists/<name>/enabled", roles=ADMINS, methods=["POST"])
def admin_hashlist_enabled(name: str):
    session = db()
    enabled = request.form.get("enabled") == "1"
    info = set_enabled(session=session, actor=actor(), name=name, enabled=enabled)
    session.commit()
    flash(
        f"{info['name']} is {'on: uploads are matched against it' if enabled else 'off: nothing is matched against it'}.",
        "success",
    )
    return redirect(url_for("console.admin_hashlists"), code=303)
