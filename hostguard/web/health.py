"""Liveness and readiness probes.

Ready means the database answers with a schema this code can serve: its own newest
revision, or a newer one (a later release has migrated during a rolling upgrade, and
migrations are additive within a release line). A schema that is missing or behind is not
ready until `hostguard init` runs.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from hostguard.db import current_revision, head_revision, schema_status
from hostguard.web.access import public_route, runtime

bp = Blueprint("health", __name__)


@public_route(bp, "/healthz")
def healthz():
    return jsonify({"status": "ok"})


@public_route(bp, "/readyz")
def readyz():
    engine = runtime().engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision, head = current_revision(engine), head_revision()
    except Exception:
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    status = schema_status(revision)
    if not status.serves:
        return jsonify(
            {
                "status": "unavailable",
                "database": "schema is not at the newest revision: run 'hostguard init'",
                "revision": revision,
                "head": head,
            }
        ), 503
    return jsonify({"status": "ready", "revision": revision, "schema": status.value})
