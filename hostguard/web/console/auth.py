"""Staff sign-in and sign-out, and the console's home page."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from hostguard.accounts.models import STAFF
from hostguard.accounts.service import authenticate
from hostguard.audit.service import record
from hostguard.web.access import actor, db, public_route, runtime, staff_route
from hostguard.web.console import bp
from hostguard.web.security import limiter


def _safe_next(target: str | None) -> str:
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlparse(target).netloc
    ):
        return target
    return url_for("console.home")


@public_route(bp, "/login", methods=["GET", "POST"])
@limiter.limit(lambda: runtime().settings.login_rate_limit, methods=["POST"])
def login():
    if request.method == "POST":
        user = authenticate(
            session=db(),
            email=request.form.get("email", ""),
            password=request.form.get("password", ""),
        )
        if user is None:
            flash("E-mail or password is wrong, or the account is disabled.", "error")
            return render_template("console/login.html", email=request.form.get("email", "")), 401
        login_user(user)
        record(db(), actor=user.actor, action="user.login", subject=user.actor)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", email="")


@staff_route(bp, "/logout", roles=STAFF, methods=["POST"])
def logout():
    record(db(), actor=actor(), action="user.logout", subject=actor())
    logout_user()
    return redirect(url_for("console.login"))


@staff_route(bp, "/", roles=STAFF)
def home():
    return render_template("console/home.html")
