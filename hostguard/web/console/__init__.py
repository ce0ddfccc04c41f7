"""The moderator console at /console: sign-in, the dashboard and each domain's pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from hostguard.web.console import auth, cases, hashlists, kyu  # noqa: E402,F401
