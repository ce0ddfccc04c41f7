"""Console pages of the trusted-flagger register (Art. 22): staff read it, admins change it."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from hostguard.accounts import flaggers
from hostguard.accounts.models import ADMINS, STAFF, Role
from hostguard.audit.service import list_records
from hostguard.cases.flaggers import flagger_figures
from hostguard.errors import HostguardError
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp
from hostguard.web.console.hotline import _fields
from hostguard.web.forms import FormError

FIELD_IDS = {
    "name": "tf-name",
    "coordinator": "tf-coordinator",
    "member_state": "tf-state",
    "areas": "tf-areas",
    "designated_on": "tf-designated",
    "designation_reference": "tf-reference",
}


def _list(form: dict | None = None, error: FormError | None = None, status: int = 200):
    figures = {f["flagger_id"]: f for f in flagger_figures(db())}
    return render_template(
        "console/flaggers_list.html",
        flaggers=flaggers.list_flaggers(db()),
        figures=figures,
        categories=runtime().policy.categories.values(),
        member_states=sorted(flaggers.EU_MEMBER_STATES),
        can_change=g.user.role == Role.ADMIN,
        form=form or {},
        error=error,
        ids=FIELD_IDS,
    ), status


@staff_route(bp, "/trusted-flaggers", roles=STAFF)
def flaggers_list():
    return _list()


@staff_route(bp, "/trusted-flaggers", roles=ADMINS, methods=["POST"])
def flaggers_add():
    form = request.form
    try:
        flagger = flaggers.add_flagger(
            session=db(),
            actor=actor(),
            policy=runtime().policy,
            name=form.get("name", ""),
            coordinator=form.get("coordinator", ""),
            member_state=form.get("member_state", ""),
            areas=form.getlist("areas"),
            designated_on=form.get("designated_on", ""),
            designation_reference=form.get("designation_reference", ""),
        )
    except HostguardError as exc:
        data: dict = {**form.to_dict(), "areas": form.getlist("areas")}
        return _list(data, _fields(exc), 422)
    flash(f"{flagger.name} is in the register.", "success")
    return redirect(url_for("console.flagger_page", flagger_id=flagger.id), code=303)


def _page(flagger_id: int, error: FormError | None = None, status: int = 200):
    flagger = flaggers.get_flagger(db(), flagger_id)
    figures = next((f for f in flagger_figures(db()) if f["flagger_id"] == flagger.id), None)
    return render_template(
        "console/flaggers_detail.html",
        flagger=flagger,
        figures=figures,
        keys=flaggers.flagger_keys(db(), flagger),
        history=list_records(db(), subject=f"flagger:{flagger.id}", limit=100),
        can_change=g.user.role == Role.ADMIN,
        error=error,
    ), status


@staff_route(bp, "/trusted-flaggers/<int:flagger_id>", roles=STAFF)
def flagger_page(flagger_id: int):
    return _page(flagger_id)


@staff_route(bp, "/trusted-flaggers/<int:flagger_id>/status", roles=ADMINS, methods=["POST"])
def flagger_status(flagger_id: int):
    change = (
        flaggers.suspend_flagger
        if request.form.get("to") == "suspended"
        else flaggers.reinstate_flagger
    )
    try:
        flagger = change(
            session=db(), actor=actor(), ident=flagger_id, reason=request.form.get("reason", "")
        )
    except HostguardError as exc:
        return _page(flagger_id, _fields(exc), 422)
    flash(f"{flagger.name} is {flagger.status}.", "success")
    return redirect(url_for("console.flagger_page", flagger_id=flagger_id), code=303)
