"""Decision events and reading a check back (issue 17's routes from the `integration` branch).

GET /api/v1/uploads/checks/{check_id}, the `upload.decision` webhook and /.well-known/jwks.json
arrive with that branch; these tests run against the real server and pass once it is merged.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from hostguard_client import NotFound
from hostguard_client.receipts import keys_from_document, verify_receipt
from hostguard_client.webhooks import verify
from tests.conftest import statements_for
from tests.test_receipts import _cli


def test_get_check_reads_the_decision_the_check_answered(hg, names):
    asked = hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    read = hg.get_check(asked.check_id)
    assert read.check_id == asked.check_id and read.decision == asked.decision == "hold"
    assert read.reasons == asked.reasons and read.revision == names["revision"]
    assert read.sequence is not None and read.sequence >= 1
    with pytest.raises(NotFound) as missing:
        hg.get_check("00000000-0000-0000-0000-000000000000")
    assert missing.value.code == "check_not_found"


def test_the_decision_arrives_as_a_signed_upload_decision_event(hg, receiver, server, names):
    asked = hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    headers, body = receiver.wait_for(
        lambda h, b: (
            h.get("X-Hostguard-Event") == "upload.decision"
            and json.loads(b)["data"].get("check_id") == asked.check_id
        )
    )
    event = verify(server.webhook_secret, body=body, headers=headers)
    assert event.data["decision"] == "hold" and event.data["revision"] == names["revision"]
    assert [r["code"] for r in event.data["reasons"]] == asked.reason_codes


def test_receipts_verify_against_the_published_jwks(hg, server, names, tmp_path):
    asked = hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    step = next(s for s in asked.required_steps if s.type == "certification")
    receipt = hg.certify(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        statements=statements_for(step),
        signed_name="Alice Example-Person",
    ).receipt
    assert verify_receipt(receipt, keys=keys_from_document(hg.jwks())).repo == names["repo"]
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    ran = subprocess.run(
        [*_cli(), str(path), "--jwks", f"{server.url}/.well-known/jwks.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
