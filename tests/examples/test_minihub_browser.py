"""examples/minihub end to end in a real browser, with a real hostguard server and worker: an
upload held, the uploader sent to the portal, the model published when the decision event says
allow, and taken down by a moderator."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from hostguard.ops.worker import Worker
from tests.uploads.conftest import png

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "client" / "src"), str(ROOT / "examples" / "minihub")]

import minihub  # noqa: E402  (the example, importable once its folder is on the path)
from hostguard_client import HostguardClient  # noqa: E402

pytestmark = pytest.mark.browser
SECRET = "minihub-webhook-secret"


@pytest.fixture
def minihub_site(live_server, runtime, api_headers, tmp_path):
    """minihub on 127.0.0.1, hostguard's webhooks pointed at it, and hostguard's worker running."""
    key = api_headers("operator")["Authorization"].removeprefix("Bearer ")
    app = minihub.create_app(
        hostguard_url=live_server.url,
        api_key=key,
        webhook_secret=SECRET,
        database=str(tmp_path / "minihub.db"),
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime.settings.webhook_url = f"{url}/hostguard/webhook"
    runtime.settings.webhook_secret = SECRET
    runtime.settings.actioner = "webhook"
    worker = Worker(runtime=runtime, poll_seconds=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield url
    worker.stop()
    thread.join(timeout=30)
    server.shutdown()


def test_held_upload_is_published_when_allowed_and_taken_down_by_a_moderator(
    page, minihub_site, live_server, cli, api_headers, make_user, tmp_path
):
    page.goto(f"{minihub_site}/upload")
    page.get_by_label("Your user name").fill("alice")
    page.get_by_role("button", name="Upload").click()  # no model name, no file: both said at once
    expect(page.locator("#form-errors li")).to_have_text(
        [
            "Model name: letters, digits, '.', '_' or '-' (up to 64).",
            "Model file: choose the file to upload.",
        ]
    )
    expect(page.get_by_label("Your user name")).to_have_value("alice")  # kept
    page.get_by_label("Your user name").fill("alice")
    page.get_by_label("Model name").fill("pixel-art")
    page.get_by_label("Model file").set_input_files(
        {"name": "model.safetensors", "mimeType": "application/octet-stream", "buffer": b"w" * 64}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#model-status")).to_have_text("Waiting for hostguard")
    expect(page.locator("#steps")).to_contain_text("Confirm who you are")

    page.get_by_role("link", name="Confirm who you are").click()  # hostguard's portal
    document = tmp_path / "passport.png"
    document.write_bytes(png())
    page.get_by_label("Your full legal name").fill("Alice Example-Person")
    page.get_by_label("Your postal address").fill("1 Quiet Street, Springfield")
    page.get_by_label("Country (two-letter code").fill("DE")
    page.get_by_label("Date of birth").fill("1990-04-30")
    page.get_by_label("A photo or scan of your passport").set_input_files(str(document))
    page.get_by_role("button", name="Send my details").click()
    page.get_by_role("link", name="Next: sign the upload statements").click()
    page.wait_for_load_state()
    for box in page.get_by_label("I certify this statement").all():
        box.check()
    method = page.get_by_label("Watermarking method")
    if method.count():  # asked of models that may generate images
        method.select_option("other")
        page.get_by_label("Describe the method").fill("A visible corner stamp")
    page.get_by_label("Type your full name to sign").fill("Alice Example-Person")
    page.get_by_role("button", name="Sign and submit").click()
    expect(page.locator("#cert-done")).to_contain_text("Your statements are recorded")

    page.goto(f"{minihub_site}/models/alice/pixel-art")
    expect(page.locator("#model-status")).to_have_text("Waiting for hostguard")
    assert cli("kyu", "verify", "1").exit_code == 0  # the staff's review of the ID document
    # no click on minihub: the page refreshes itself and the decision event publishes the model
    expect(page.locator("#model-status")).to_have_text("Published", timeout=30_000)
    page.goto(minihub_site)
    expect(page.get_by_role("link", name="alice/pixel-art")).to_be_visible()

    moderator_user, _ = make_user("moderator")
    key = api_headers("moderator", user=moderator_user)["Authorization"].removeprefix("Bearer ")
    with HostguardClient(live_server.url, api_key=key) as moderator:
        notice = moderator.submit_notice(
            items=["alice/pixel-art"],
            category="hate",
            explanation="Generates hateful imagery.",
            notifier_name="Nora",
            notifier_email="nora@example.org",
            good_faith=True,
        )
        case_id = notice.case_ids[0]
        moderator.claim_case(case_id)
        moderator.decide_case(
            case_id,
            action="take_down",
            ground="terms_of_service",
            ground_reference="Terms § 4",
            category="hate",
            explanation="Generates hateful imagery.",
        )
    # the status comes from hostguard's webhook to minihub, not from this page's request
    deadline = time.monotonic() + 30
    while True:
        page.goto(f"{minihub_site}/models/alice/pixel-art")
        if (
            page.locator("#model-status").inner_text() == "Taken down"
            or time.monotonic() > deadline
        ):
            break
        page.wait_for_timeout(300)
    expect(page.locator("#model-status")).to_have_text("Taken down")
    expect(page.locator("#note")).to_contain_text("A moderator took this model down")
    page.goto(minihub_site)
    expect(page.get_by_text("No models yet.")).to_be_visible()
