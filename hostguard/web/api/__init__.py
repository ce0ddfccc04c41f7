"""The JSON API at /api/v1 for platforms, flaggers and authorities; one error shape for all."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from hostguard.web.api import (  # noqa: E402,F401
    cases,
    core,
    datasets,
    exchanges,
    flaggers,
    hashing,
    hotline,
    uploads,
    webhooks,
)

__all__ = ["bp", "jsonify"]
