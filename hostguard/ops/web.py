"""Web glue of the operations part: request timing, process roles and the /metrics route."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, g, request

from hostguard.errors import AuthenticationRequired, NotFound, Unavailable
from hostguard.hashing import snapshots
from hostguard.instruments import _instruments, count_moderation_decisions, record_decision
from hostguard.ops.metrics import render, token_allows
from hostguard.web.access import public_route, runtime

bp = Blueprint("ops", __name__)
request_log = logging.getLogger("hostguard.request")

# Routes that match hashes: served by processes with the `matcher` role.
MATCHER_RULES = frozenset({"/api/v1/scan", "/api/v1/uploads/check"})
# Routes probed so often that a log line each would drown the rest.
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
# Routes every process serves whatever its roles.
ALWAYS = frozenset({"/healthz", "/readyz", "/metrics"})


@public_route(bp, "/metrics")
def metrics():
    """Prometheus metrics; needs `Authorization: Bearer <HOSTGUARD_METRICS_TOKEN>` when set."""
    if not token_allows(current_ops().metrics_token, request.headers.get("Authorization", "")):
        raise AuthenticationRequired(
            "/metrics needs the metrics bearer token", code="metrics_token"
        )
    body, content_type = render(runtime())
    return body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"}


DECISION_RULES = frozenset({"/api/v1/uploads/check", "/api/v1/scan"})


def _count_decisions(endpoint: str, response) -> None:
    """Count the automated decisions an answer carries (upload checks, scans)."""
    body = response.get_json(silent=True) or {}
    if endpoint == "/api/v1/uploads/check" and isinstance(body.get("decision"), str):
        record_decision("upload_check", body["decision"])
    elif endpoint == "/api/v1/scan":
        for result in body.get("results") or []:
            outcome = (
                "error" if result.get("error") else "match" if result.get("matched") else "no_match"
            )
            record_decision("scan", outcome)


def _actor_kind() -> str:
    """The kind of caller and its id (`user:3`, `apikey:2`), never an uploader's platform id."""
    who = g.get("actor") or "anonymous"
    return "uploader" if who.startswith("uploader:") else who


def current_ops():
    from flask import current_app

    return current_app.extensions["hostguard.ops"]


def role_refusal(rule: str | None, roles: frozenset[str]) -> Exception | None:
    """Why a process with `roles` does not serve `rule` (None when it does)."""
    if rule is None or rule in ALWAYS:
        return None
    if rule in MATCHER_RULES:
        if "matcher" not in roles:
            return Unavailable(
                "this process does not match hashes (HOSTGUARD_ROLES has no "
                "'matcher'); send matching requests to a matcher process"
            )
        return None
    if "api" not in roles:
        return NotFound("this process only matches hashes (HOSTGUARD_ROLES has no 'api')")
    return None


def install(app: Flask) -> None:
    ops = app.extensions["hostguard"].settings
    app.extensions["hostguard.ops"] = ops
    roles = ops.role_set
    app.register_blueprint(bp)
    if "matcher" in roles:
        snapshots.configure(snapshots.directory_for(ops))

    def _start_timer():
        g.ops_started = time.perf_counter()

    # first, so requests that an earlier hook rejects (CSRF, rate limits) are timed too
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.before_request
    def _enforce_roles():
        refusal = role_refusal(request.url_rule.rule if request.url_rule else None, roles)
        if refusal is not None:
            raise refusal

    @app.after_request
    def _observe(response):
        started = g.pop("ops_started", None)
        if started is not None:
            seconds = time.perf_counter() - started
            endpoint = request.url_rule.rule if request.url_rule else "(unmatched)"
            _instruments()["requests"].labels(
                method=request.method,
                endpoint=endpoint,
                status=str(response.status_code),
            ).observe(seconds)
            if endpoint in DECISION_RULES and response.status_code == 200:
                _count_decisions(endpoint, response)
            if endpoint not in QUIET:
                request_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": request.method,
                            "route": endpoint,
                            "status": response.status_code,
                            "duration_ms": round(seconds * 1000, 1),
                            "actor": _actor_kind(),
                        }
                    },
                )
        return response


def init_metrics(app: Flask) -> None:
    """Time every request, enforce the process roles and serve /metrics."""
    count_moderation_decisions()
    install(app)
