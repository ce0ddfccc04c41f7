"""Routes of the console surface for exchanges: each exchange's state, and fetching one now."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from hostguard.accounts.models import ADMINS
from hostguard.exchanges.service import (
    FetchRunning,
    check_not_fetching,
    enqueue_fetch,
    list_exchanges,
)
from hostguard.web.access import db, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/exchanges", roles=ADMINS)
def exchanges():
    return render_template("console/exchanges.html", exchanges=list_exchanges(session=db()))


@staff_route(bp, "/exchanges/<name>/fetch", roles=ADMINS, methods=["POST"])
def exchange_fetch(name: str):
    try:
        check_not_fetching(session=db(), name=name)
    except FetchRunning:
        flash(f"A fetch of {name} is running now; it brings the list up to date.", "error")
        return redirect(url_for("console.exchanges"), code=303)
    enqueue_fetch(session=db(), name=name, manual=True)
    flash(f"A fetch of {name} is queued; the worker runs it within a minute.", "success")
    return redirect(url_for("console.exchanges"), code=303)
