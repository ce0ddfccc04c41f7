"""Public pages anyone can use without an account: the notice form and its receipt."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/notices")

from hostguard.web.public import notices  # noqa: E402,F401
