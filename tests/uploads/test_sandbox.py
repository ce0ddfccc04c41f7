"""Sandbox API keys: documented test uploader ids and images produce each decision, and nothing
is stored, opened or counted."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import func, select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case
from hostguard.platform.models import ModelRepo, Uploader, WebhookDelivery
from hostguard.uploads.models import UploadCheck
from tests.uploads.conftest import check_body


def _solid(colour, size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def sandbox(cli, runtime):
    result = cli("apikey", "create", "try-it", "--scope", "operator", "--sandbox")
    assert result.exit_code == 0, result.output
    assert "SANDBOX" in result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


def _count(runtime, model) -> int:
    with runtime.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize(
    ("uploader", "images", "decision", "codes"),
    [
        ("sandbox-allow", [], "allow", []),
        ("sandbox-kyu", [], "hold", ["kyu_required"]),
        ("sandbox-kyu-pending", [], "hold", ["kyu_pending"]),
        ("sandbox-certification", [], "hold", ["certification_required"]),
        ("sandbox-documentation", [], "hold", ["documentation_required"]),
        ("sandbox-suspended", [], "block", ["uploader_suspended"]),
        ("sandbox-allow", [("s/red.png", _solid((255, 0, 0)))], "block", ["hash_match"]),
        ("sandbox-allow", [("s/blue.png", _solid((0, 0, 255)))], "hold", ["hash_match"]),
        ("sandbox-allow", [("s/green.png", _solid((0, 255, 0)))], "hold", ["hash_match"]),
        ("sandbox-kyu-rejected", [], "hold", ["kyu_rejected"]),
        ("sandbox-kyu-needs-information", [], "hold", ["kyu_needs_information"]),
        ("sandbox-kyu-expired", [], "hold", ["kyu_expired"]),
        ("sandbox-certification-outdated", [], "hold", ["certification_outdated"]),
        ("sandbox-watermark", [], "hold", ["watermark_not_found"]),
        ("sandbox-watermark-inconclusive", [], "hold", ["watermark_inconclusive"]),
        ("sandbox-new-uploader", [], "hold", ["kyu_required", "certification_required"]),
    ],
)
def test_test_ids_and_images_give_each_decision_and_leave_no_trace(
    client, runtime, sandbox, uploader, images, decision, codes
):
    runtime.settings.webhook_url, runtime.settings.webhook_secret = "http://127.0.0.1:9/", "x"
    audit_before = _count(runtime, AuditRecord)
    body = check_body(uploader=uploader, images=images)
    response = client.post("/api/v1/uploads/check", json=body, headers=sandbox)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["sandbox"] is True
    assert answer["policy"] == {"id": "sandbox", "version": 1}  # the sandbox policy's answer
    assert answer["decision"] == decision
    assert [r["code"] for r in answer["reasons"]] == codes
    assert [m["kind"] for m in answer["matches"]] == ["image"] * len(images)  # as a live check's
    again = client.post("/api/v1/uploads/check", json=body, headers=sandbox).get_json()
    assert again["check_id"] == answer["check_id"]  # the same request, the same check id
    for model in (UploadCheck, Case, Uploader, ModelRepo, WebhookDelivery):
        assert _count(runtime, model) == 0, model
    assert _count(runtime, AuditRecord) == audit_before


def test_a_sandbox_key_calls_nothing_but_the_check(client, sandbox, api_headers):
    refused = client.post(
        "/api/v1/certifications",
        headers=sandbox,
        json={"uploader_id": "u-1", "repo_id": "alice/model", "revision": "r" * 40},
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "sandbox_key"
    # a real operator key is answered for real
    real = client.post("/api/v1/uploads/check", json=check_body(), headers=api_headers("operator"))
    assert "sandbox" not in real.get_json()


def test_only_operator_keys_can_be_sandbox_keys(cli):
    result = cli("apikey", "create", "x", "--scope", "trusted_flagger", "--sandbox")
    assert result.exit_code != 0
    assert "sandbox key has the operator scope only" in result.output


SANDBOX_FILE = """
id: my-sandbox
version: 3
hash_categories:
  default: {action: block}
certifications:
  required:
    public: [only-this]
    gated: [only-this]
    private: [only-this]
  statements:
    - id: only-this
      version: 2
      title: Only this statement
      text: I certify only this.
sandbox:
  uploaders:
    tester-1: [certification_required]
  images:
    - colour: "#123456"
      category: default
      list_action: review
"""


def test_the_sandbox_policy_file_is_the_setting_s_and_decides(client, runtime, sandbox, tmp_path):
    path = tmp_path / "sandbox.yaml"
    path.write_text(SANDBOX_FILE)
    runtime.settings.sandbox_policy_file = path
    answer = client.post(
        "/api/v1/uploads/check", json=check_body(uploader="tester-1"), headers=sandbox
    ).get_json()
    assert answer["policy"] == {"id": "my-sandbox", "version": 3}
    assert answer["decision"] == "hold" and [r["code"] for r in answer["reasons"]] == [
        "certification_required"
    ]
    step = answer["required_steps"][0]
    assert [s["id"] for s in step["statements"]] == ["only-this"]
    # the file's hash_categories decide: its default category blocks
    image = [("s/x.png", _solid((0x12, 0x34, 0x56)))]
    answer = client.post(
        "/api/v1/uploads/check", json=check_body(uploader="anyone", images=image), headers=sandbox
    ).get_json()
    assert answer["decision"] == "block"
    # the shipped test ids are not this file's
    shipped = client.post(
        "/api/v1/uploads/check", json=check_body(uploader="sandbox-kyu"), headers=sandbox
    ).get_json()
    assert shipped["decision"] == "allow"


def test_a_wrong_sandbox_file_names_its_problem():
    from hostguard.policy.load import PolicyError
    from hostguard.uploads.sandbox import parse_sandbox

    with pytest.raises(PolicyError, match="unknown reason made_up"):
        parse_sandbox("id: s\nversion: 1\nsandbox:\n  uploaders:\n    x: [made_up]\n")


def test_the_docs_list_every_shipped_test_id_and_image():
    from pathlib import Path

    from hostguard.uploads.sandbox import SANDBOX_POLICY_PATH, sandbox_in_force

    shipped = sandbox_in_force(SANDBOX_POLICY_PATH)
    docs = (Path(__file__).resolve().parents[2] / "docs/operators/sandbox.md").read_text()
    for uploader, codes in shipped.uploaders.items():
        assert f"`{uploader}`" in docs and all(f"`{c}`" in docs for c in codes)
    for image in shipped.images:
        assert "#{:02x}{:02x}{:02x}".format(*image.colour) in docs
