"""The uploader portal driven in a real browser: KYU form (with a wrong file first), then certifications."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.uploads.conftest import check_body, png

pytestmark = pytest.mark.browser


def test_uploader_completes_kyu_and_certifications_in_the_portal(
    page, live_server, client, api_headers, tmp_path, runtime
):
    operator = api_headers("operator")
    body = client.post("/api/v1/uploads/check", json=check_body(), headers=operator).get_json()
    kyu_url = next(s["url"] for s in body["required_steps"] if s["type"] == "kyu")
    assert kyu_url.startswith(live_server.url)

    gif = tmp_path / "passport.gif"
    Image.new("RGB", (20, 20)).save(gif, "GIF")
    good = tmp_path / "passport.png"
    good.write_bytes(png())

    page.goto(kyu_url)
    expect(page.get_by_role("heading", name="Confirm who you are")).to_be_visible()
    page.get_by_label("Your full legal name").fill("Alice Example-Person")
    page.get_by_label("Your postal address").fill("1 Quiet Street, Springfield")
    page.get_by_label("Country (two-letter code").fill("DE")
    page.get_by_label("Date of birth").fill("1990-04-30")
    page.get_by_label("A photo or scan of your passport").set_input_files(str(gif))
    page.get_by_role("button", name="Send my details").click()
    expect(page.locator("#form-error")).to_contain_text("must be a JPEG, PNG or PDF")
    expect(page.get_by_label("Your full legal name")).to_have_value("Alice Example-Person")  # kept
    page.get_by_label("A photo or scan of your passport").set_input_files(str(good))
    page.get_by_role("button", name="Send my details").click()
    expect(page.locator("#kyu-status")).to_contain_text("waiting for review")

    page.get_by_role("link", name="Next: sign the upload statements").click()
    expect(page.get_by_role("heading", name="Sign the upload statements")).to_be_visible()
    page.get_by_role("button", name="Sign and submit").click()  # nothing ticked yet
    expect(page.locator("#form-error")).to_contain_text("Tick the box")
    # all() does not wait: the refused form must be parsed in full before its boxes are listed
    page.wait_for_load_state()
    for box in page.get_by_label("I certify this statement").all():
        box.check()
    page.get_by_label("Watermarking method").select_option("other")
    page.get_by_label("Describe the method").fill("A visible corner stamp")
    page.get_by_label("Type your full name to sign").fill("Alice Example-Person")
    page.get_by_role("button", name="Sign and submit").click()
    expect(page.locator("#cert-done")).to_contain_text("Your statements are recorded")
    expect(page.get_by_label("Model card metadata")).to_have_value(
        re.compile("hostguard_certification:")
    )

    again = client.post("/api/v1/uploads/check", json=check_body(), headers=operator).get_json()
    assert [r["code"] for r in again["reasons"]] == ["kyu_pending"]
