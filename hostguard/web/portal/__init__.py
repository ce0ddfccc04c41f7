"""The uploader portal at /portal: know-your-uploader and certifications, entered by signed link."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

from hostguard.web.portal import certifications, kyu  # noqa: E402,F401
