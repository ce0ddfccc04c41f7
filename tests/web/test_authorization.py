"""Every route refuses callers who are not signed in, and callers with the wrong role or scope.

The routes are read from the application itself, so a new route is checked without anyone
remembering to add it here, and a route without a declared guard fails.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from hostguard.accounts.models import Role, Scope

PUBLIC_OK = {"public"}


def _all_routes():
    from hostguard.config import Settings
    from hostguard.keys import ensure_keys
    from hostguard.runtime import Runtime
    from hostguard.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(env="test", data_dir=Path(tmp), log_json=False)
        ensure_keys(settings)
        app = create_app(runtime=Runtime(settings))
        routes = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            view = app.view_functions[rule.endpoint]
            access = getattr(view, "access", None)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.rule, method, rule.endpoint, access))
        return routes


ROUTES = _all_routes()


def _concrete(rule: str) -> str:
    def fill(match):
        conv = match.group(1) or "string"
        return {"int": "1", "path": "owner/name"}.get(conv, "x")

    return re.sub(r"<(?:(\w+):)?\w+>", fill, rule)


def _ids(routes):
    return [f"{m} {r}" for r, m, _, _ in routes]


def test_every_route_declares_who_may_call_it():
    unguarded = [f"{m} {r} ({e})" for r, m, e, a in ROUTES if a is None]
    assert not unguarded, f"routes without an access guard: {unguarded}"


GUARDED = [
    r
    for r in ROUTES
    if r[3] is not None
    and r[3].kind not in PUBLIC_OK
    and not (r[3].kind == "api" and r[3].optional_auth)
]


@pytest.mark.parametrize("rule,method,endpoint,access", GUARDED, ids=_ids(GUARDED))
def test_anonymous_caller_is_refused(client, csrf_token, rule, method, endpoint, access):
    headers = {"X-CSRFToken": csrf_token(client, "/console/login")}
    response = client.open(_concrete(rule), method=method, headers=headers)
    if access.kind == "staff" and method == "GET":
        assert response.status_code == 302
        assert "/console/login" in response.headers["Location"]
    else:
        assert response.status_code == 401, response.get_data(as_text=True)[:300]
    if access.kind == "api":
        assert response.get_json()["error"]["code"] in {"unauthenticated", "token_missing"}


WRONG_ROLE = [
    (rule, method, endpoint, access, role)
    for rule, method, endpoint, access in GUARDED
    if access.kind == "staff"
    for role in sorted(set(Role) - access.roles)
]


@pytest.mark.parametrize(
    "rule,method,endpoint,access,wrong",
    WRONG_ROLE,
    ids=[f"{m} {r} as {w}" for r, m, _, _, w in WRONG_ROLE],
)
def test_staff_with_wrong_role_is_refused(
    client, login, csrf_token, rule, method, endpoint, access, wrong
):
    login(client, wrong)
    headers = {"X-CSRFToken": csrf_token(client, "/console/login")}
    response = client.open(_concrete(rule), method=method, headers=headers)
    assert response.status_code == 403, f"{wrong} reached {method} {rule}"


WRONG_SCOPE = [
    (rule, method, endpoint, access, scope)
    for rule, method, endpoint, access in ROUTES
    if access is not None and access.kind == "api" and access.scopes and not access.optional_auth
    for scope in sorted(set(Scope) - access.scopes)
]


@pytest.mark.parametrize(
    "rule,method,endpoint,access,wrong",
    WRONG_SCOPE,
    ids=[f"{m} {r} with {w}" for r, m, _, _, w in WRONG_SCOPE],
)
def test_api_key_with_wrong_scope_is_refused(
    client, api_headers, rule, method, endpoint, access, wrong
):
    response = client.open(_concrete(rule), method=method, headers=api_headers(wrong))
    assert response.status_code == 403, f"scope {wrong} reached {method} {rule}"
    assert response.get_json()["error"]["code"] == "forbidden"


PORTAL = [r for r in ROUTES if r[3] is not None and r[3].kind == "portal"]


@pytest.mark.parametrize("rule,method,endpoint,access", PORTAL, ids=_ids(PORTAL))
def test_portal_refuses_forged_token(client, csrf_token, rule, method, endpoint, access):
    headers = {"X-CSRFToken": csrf_token(client, "/console/login")}
    response = client.open(
        _concrete(rule) + "?token=forged.token.value", method=method, headers=headers
    )
    assert response.status_code == 401


def test_the_route_list_is_not_empty():
    kinds = {a.kind for _, _, _, a in ROUTES if a}
    assert {"api", "staff", "public"} <= kinds


# The README's role table: an auditor reads the case queue, the case pages and the audit trail,
# and changes nothing.
AUDITOR_READS = {"console.queue", "console.case_page", "console.audit"}
CONSOLE_CASE_ROUTES = [
    r
    for r in ROUTES
    if r[3] is not None
    and r[3].kind == "staff"
    and (r[0].startswith("/console/cases") or r[2] in AUDITOR_READS)
]


@pytest.mark.parametrize(
    "rule,method,endpoint,access", CONSOLE_CASE_ROUTES, ids=_ids(CONSOLE_CASE_ROUTES)
)
def test_auditor_reads_queue_cases_and_audit_and_changes_nothing(rule, method, endpoint, access):
    allowed = Role.AUDITOR in access.roles
    if endpoint in AUDITOR_READS:
        assert allowed and method == "GET"
    elif method != "GET":
        assert not allowed, f"an auditor may {method} {rule}"
