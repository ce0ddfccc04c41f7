"""Administration in the console: staff users and roles, API keys shown once and revoked, all audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from hostguard.accounts.models import ApiKey, User
from hostguard.accounts.service import authenticate
from hostguard.audit.models import AuditRecord
from tests.conftest import extract_csrf

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def actions(runtime) -> list[str]:
    with Session(runtime.engine) as s:
        return [r.action for r in s.exec(select(AuditRecord).order_by(AuditRecord.id))]


def test_only_administrators_open_administration(client, login):
    login(client, "senior_moderator")
    assert client.get("/console/admin/users").status_code == 403
    assert client.get("/console/admin/keys").status_code == 403


def test_every_error_of_the_user_form_at_once_in_words(client, login):
    login(client, "admin")
    token = extract_csrf(client.get("/console/admin/users").get_data(as_text=True))
    response = client.post(
        "/console/admin/users", data={"email": "nobody", "role": "", "csrf_token": token}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the new user&#39;s e-mail address" in html and "Choose a role" in html
    assert "invalid_input" not in html


def test_create_user_shows_the_password_once_then_role_and_deactivation(client, login, runtime):
    admin = login(client, "admin")
    token = extract_csrf(client.get("/console/admin/users").get_data(as_text=True))
    response = client.post(
        "/console/admin/users",
        data={"email": "Mia@Example.org", "role": "moderator", "csrf_token": token},
    )
    html = response.get_data(as_text=True)
    password = re.search(r'<code id="initial-password">([^<]+)</code>', html).group(1)
    with Session(runtime.engine) as s:
        assert authenticate(session=s, email="mia@example.org", password=password)
        mia = s.exec(select(User).where(User.email == "mia@example.org")).one()
    assert password not in client.get("/console/admin/users").get_data(as_text=True)

    client.post(
        f"/console/admin/users/{mia.id}/role",
        data={"role": "senior_moderator", "csrf_token": token},
    )
    client.post(f"/console/admin/users/{mia.id}/active", data={"active": "0", "csrf_token": token})
    with Session(runtime.engine) as s:
        mia = s.get(User, mia.id)
        assert (mia.role, mia.active) == ("senior_moderator", False)
        assert authenticate(session=s, email="mia@example.org", password=password) is None
    own = client.post(
        f"/console/admin/users/{admin.id}/active", data={"active": "0", "csrf_token": token}
    )
    assert own.status_code == 409 and "your own account" in own.get_data(as_text=True)
    assert {"user.create", "user.role_set", "user.deactivate"} <= set(actions(runtime))


def test_a_key_is_shown_once_listed_without_its_secret_and_revoked(client, login, runtime):
    login(client, "admin")
    token = extract_csrf(client.get("/console/admin/keys").get_data(as_text=True))
    missing = client.post("/console/admin/keys", data={"csrf_token": token, "scopes": "moderator"})
    text = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "Give the key a name" in text and "choose who" in text

    html = client.post(
        "/console/admin/keys",
        data={"name": "upload hook", "scopes": "operator", "csrf_token": token},
    ).get_data(as_text=True)
    secret = re.search(r'<code id="key-secret">(hg_[^<]+)</code>', html).group(1)
    assert client.get(
        "/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}
    ).status_code in (
        200,
        403,
    )
    listing = client.get("/console/admin/keys").get_data(as_text=True)
    assert secret not in listing and "upload hook" in listing and "operator" in listing
    with Session(runtime.engine) as s:
        key = s.exec(select(ApiKey).where(ApiKey.name == "upload hook")).one()
    client.post(f"/console/admin/keys/{key.id}/revoke", data={"csrf_token": token})
    refused = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert {"apikey.create", "apikey.revoke"} <= set(actions(runtime))


@pytest.mark.browser
def test_key_and_user_administration_in_a_browser(page, live_server, make_user):
    admin, password = make_user("admin")
    base = live_server.url
    page.goto(f"{base}/console/login")
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Administration").first.click()

    page.get_by_label("E-mail", exact=True).fill("noor@example.org")
    page.get_by_label("Role", exact=True).select_option("legal")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#created-user")).to_contain_text("noor@example.org")
    expect(page.locator("#initial-password")).not_to_be_empty()
    expect(page.locator("#users")).to_contain_text("noor@example.org")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-user-created.png"), full_page=True)

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("platform upload hook")
    page.get_by_label("operator").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#key-secret").inner_text()
    assert secret.startswith("hg_")
    page.screenshot(path=str(ARTIFACTS / "admin-key-created.png"), full_page=True)
    page.goto(f"{base}/console/admin/keys")
    expect(page.locator("#key-secret")).to_have_count(0)
    expect(page.locator("#keys")).not_to_contain_text(secret)
    page.get_by_role("button", name="Revoke platform upload hook").click()
    expect(page.locator("#keys")).to_contain_text("revoked")
    page.screenshot(path=str(ARTIFACTS / "admin-key-revoked.png"), full_page=True)


def test_the_policy_in_force_is_shown_as_tables(client, login, runtime):
    login(client, "auditor")
    html = client.get("/console/admin/policy").get_data(as_text=True)
    policy = runtime.policy
    assert f"{policy.id} version {policy.version}" in html
    assert '<table id="policy-wellness">' in html and "<td>exposure_cap</td>" in html
    assert f"<td>{policy.wellness.exposure_cap}</td>" in html
    # the categories table: one row per category, its severity in a column
    assert '<table id="policy-categories">' in html and "<td>child_sexual_abuse</td>" in html
    assert "exposure_cap:" not in html  # not YAML text
