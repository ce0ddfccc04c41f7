"""Every form POST of the console, the uploader portal and the public notice form needs a CSRF token.

The routes are read from the application (as in test_authorization), so a new form is checked
without anyone adding it here. Each POST is sent by a caller the route's guard would let in
(staff with an allowed role, an uploader with a valid portal link, anyone for public routes):
without a token it is refused with 400 before the view runs; with the session's token, the
same request gets past CSRF (whatever the view then answers).
"""

from __future__ import annotations

import pytest

from hostguard.platform.service import get_or_create_uploader
from hostguard.platform.tokens import make_portal_token
from tests.web.test_authorization import ROUTES, _concrete

FORMS = [
    (rule, method, endpoint, access)
    for rule, method, endpoint, access in ROUTES
    if access is not None and access.kind in {"staff", "portal", "public"} and method == "POST"
]


def test_every_surface_has_post_forms():
    assert {access.kind for _, _, _, access in FORMS} >= {"staff", "portal", "public"}


def _is_csrf_refusal(response) -> bool:
    return response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def _caller(client, login, runtime, access) -> str:
    """Sign in (staff) or make a portal link as needed; returns the query string to add."""
    if access.kind == "staff":
        login(client, sorted(access.roles)[0])
    if access.kind == "portal":  # some portal views check CSRF once they know the uploader
        with runtime.session() as session:
            get_or_create_uploader(session, platform_id="csrf-uploader", username="csrf-uploader")
        return "?token=" + make_portal_token(runtime, "csrf-uploader")
    return ""


@pytest.mark.parametrize(
    "rule,method,endpoint,access", FORMS, ids=[f"{m} {r}" for r, m, _, _ in FORMS]
)
def test_form_post_without_csrf_token_is_refused(
    client, login, runtime, csrf_token, rule, method, endpoint, access
):
    query = _caller(client, login, runtime, access)
    url = _concrete(rule) + query
    token = csrf_token(client, "/console/login")  # the session now holds a token ...
    refused = client.post(url, data={"field": "value"})  # ... which this request does not send
    assert _is_csrf_refusal(refused), (refused.status_code, refused.get_data(as_text=True)[:300])
    forged = client.post(url, data={"csrf_token": "forged." + token[7:]})
    assert _is_csrf_refusal(forged), (forged.status_code, forged.get_data(as_text=True)[:300])
    accepted = client.post(url, data={"csrf_token": token})
    assert not _is_csrf_refusal(accepted), accepted.get_data(as_text=True)[:300]
