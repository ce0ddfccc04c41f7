"""Hash-list administration in the console: import a file (progress shown), replace, turn off and
on; counts only, never a hash; audited."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.hashing.models import HashList
from tests.conftest import extract_csrf
from tests.hashing.test_hashlists import pdq_hashes

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def upload(client, token, text: str, **form):
    data = {"csrf_token": token, "name": "partner", "algorithm": "pdq", **form}
    data["file"] = (io.BytesIO(text.encode()), "list.txt")
    return client.post(
        "/console/admin/hashlists/import", data=data, content_type="multipart/form-data"
    )


def test_import_replace_and_switch_off_without_showing_a_hash(client, login, runtime):
    login(client, "admin")
    token = extract_csrf(client.get("/console/admin/hashlists").get_data(as_text=True))
    empty = client.post(
        "/console/admin/hashlists/import",
        data={"csrf_token": token},
        content_type="multipart/form-data",
    )
    words = empty.get_data(as_text=True)
    assert (
        empty.status_code == 422
        and "Give the list a name" in words
        and "Choose the list file" in words
    )

    hashes = pdq_hashes(3)
    page = upload(client, token, f"{hashes[0]}\nnot-a-hash\n{hashes[1]}\n").get_data(as_text=True)
    assert "3 entries" not in page and "2 added" in page and "1 invalid" in page
    assert all(h not in page for h in hashes)
    page = upload(client, token, f"{hashes[2]}\n", replace="1").get_data(as_text=True)
    assert "1 added, 2 removed, 1 entries now" in page and hashes[2] not in page

    client.post(
        "/console/admin/hashlists/partner/enabled", data={"csrf_token": token, "enabled": "0"}
    )
    with runtime.session() as s:
        assert s.exec(select(HashList).where(HashList.name == "partner")).one().enabled is False
        actions = [r.action for r in s.exec(select(AuditRecord))]
    assert "hashlist.disable" in actions
    listing = client.get("/console/admin/hashlists").get_data(as_text=True)
    assert "Turn on partner" in listing


def test_a_moderator_cannot_import(client, login):
    login(client, "moderator")
    assert client.get("/console/admin/hashlists").status_code == 403


@pytest.mark.browser
def test_import_in_a_browser_sends_the_file_and_shows_the_summary(
    page, live_server, make_user, tmp_path
):
    admin, password = make_user("admin")
    base = live_server.url
    page.goto(f"{base}/console/login")
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/console/admin/hashlists")
    path = tmp_path / "partner.txt"
    path.write_text("".join(f"{secrets.token_hex(32)}\n" for _ in range(2000)))
    page.get_by_label("List name").fill("partner")
    page.get_by_label("List file").set_input_files(str(path))
    page.get_by_label("Algorithm").select_option("pdq")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-summary")).to_contain_text("2000 added")
    expect(page.locator("#hashlists")).to_contain_text("partner")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-hashlist-imported.png"), full_page=True)
