"""Inbound webhooks from hosting platforms at /hooks (their own secrets, no CSRF)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

from hostguard.web.hooks import huggingface  # noqa: E402,F401
