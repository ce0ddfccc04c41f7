"""Routes of the console surface for hashlists: what lists are loaded (never their hashes)."""

from __future__ import annotations

from flask import render_template

from hostguard.accounts.models import CASE_WORKERS
from hostguard.hashing.service import list_lists
from hostguard.web.access import db, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/hashlists", roles=CASE_WORKERS)
def hashlists():
    return render_template("console/hashlists_list.html", lists=list_lists(session=db()))
