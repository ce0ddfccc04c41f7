"""Routes of the console surface for hashlists: what lists are loaded (never their hashes)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hostguard.accounts.models import ADMINS, CASE_WORKERS, Role
from hostguard.errors import HostguardError
from hostguard.hashing.service import false_positive_counts, list_lists, suppress
from hostguard.web.access import actor, db, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/hashlists", roles=CASE_WORKERS)
def hashlists():
    lists = list_lists(session=db())
    return render_template(
        "console/hashlists_list.html",
        lists=lists,
        control={
            row["name"]: false_positive_counts(session=db(), name=row["name"]) for row in lists
        },
        can_suppress=current_user.role == Role.ADMIN,
    )


@staff_route(bp, "/hashlists/<name>/suppress", roles=ADMINS, methods=["POST"])
def suppress_hash(name: str):
    """The console's suppress button: allow-list a hash that matched wrongly, with a reason."""
    try:
        done = suppress(
            session=db(),
            actor=actor(),
            name=name,
            hash=request.form.get("hash", ""),
            reason=request.form.get("reason", ""),
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
    else:
        flash(
            f"{done['suppressed']} entry(ies) of {name} suppressed; they stop matching now.",
            "success",
        )
    return redirect(url_for("console.hashlists"), code=303)
