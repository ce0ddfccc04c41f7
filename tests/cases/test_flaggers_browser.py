"""The trusted-flagger register in a real browser: an admin adds a flagger (every form error at
once first), reads the table, suspends it at its coordinator's request; a moderator only reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.cases.test_cases_browser import sign_in

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_admin_keeps_the_register_in_the_console(page, live_server, make_user):
    base = live_server.url
    admin, password = make_user("admin")
    sign_in(page, base, admin, password)
    page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="Trusted flaggers"
    ).click()
    expect(page.locator("h1")).to_have_text("Trusted flaggers")
    expect(page.get_by_text("The register is empty.")).to_be_visible()

    # nothing filled in: every field's error at once, beside its field and in the summary
    page.get_by_role("button", name="Add to the register").click()
    summary = page.locator("#form-error")
    expect(summary).to_be_visible()
    for field in ("Entity", "Its member state", "Designation date", "Designation reference"):
        expect(page.get_by_label(field)).to_have_attribute("aria-invalid", "true")
    expect(summary.locator("li")).to_have_count(6)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "flaggers-errors.png"), full_page=True)

    page.get_by_label("Entity").fill("Hate Watch e.V.")
    page.get_by_label("Digital Services Coordinator that designated it").fill("Bundesnetzagentur")
    page.get_by_label("Its member state").select_option("DE")
    page.get_by_label("Hate speech").check()
    page.get_by_label("Designation date").fill("2025-03-01")
    page.get_by_label("Designation reference").fill("BNetzA-TF-2025-007")
    page.get_by_role("button", name="Add to the register").click()
    expect(page.locator("h1")).to_contain_text("Hate Watch e.V.")
    expect(page.locator("#flagger-status")).to_have_text("active")

    page.get_by_label("Reason").fill("BNetzA asked for a suspension (ref. 2026-11)")
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("#flagger-status")).to_have_text("suspended")
    expect(page.get_by_text("handled as ordinary notices")).to_be_visible()

    page.goto(f"{base}/console/trusted-flaggers")
    row = page.locator("#flaggers tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Bundesnetzagentur")
    expect(row).to_contain_text("BNetzA-TF-2025-007")
    expect(row).to_contain_text("suspended")
    page.screenshot(path=str(ARTIFACTS / "flaggers-table.png"), full_page=True)

    moderator, password = make_user("moderator")
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/trusted-flaggers")
    expect(page.locator("#flaggers tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Add to the register")).to_have_count(0)
