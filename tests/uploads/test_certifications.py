"""Certifications through the API: signed receipts, /api/v1/keys, offline verification, bad input."""

from __future__ import annotations

import copy
import json

import itsdangerous.timed

from hostguard.platform.tokens import make_portal_token
from tests.uploads.test_check_api import certify_all


def test_certification_returns_a_receipt_that_verifies_offline(
    checker, client, operator, cli, tmp_path
):
    checker()
    response = certify_all(client, operator, method="other")
    assert response.status_code == 201
    body = response.get_json()
    receipt = body["receipt"]
    claims = receipt["receipt"]
    assert (
        claims["uploader"] == "u-1"
        and claims["repo"] == "alice/model"
        and claims["revision"] == "r" * 40
    )
    assert [(s["id"], s["version"]) for s in claims["statements"]] == [
        ("no-csam-training-data", 1),
        ("output-watermark", 1),
    ]
    assert claims["statements"][1]["fields"] == {"method": "other", "description": "a stamp"}
    assert claims["policy"] == {"id": "default", "version": 1} and claims["signed_at"]
    assert "Alice Example" not in json.dumps(receipt)  # the typed name stays private
    keys = client.get("/api/v1/keys").get_json()["keys"]
    assert keys[0]["key_id"] == claims["key_id"] and keys[0]["algorithm"] == "Ed25519"

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    result = cli("certification", "verify", str(path), "--public-key", keys[0]["public_key"])
    assert result.exit_code == 0, result.stderr
    assert "valid receipt" in result.output and "alice/model" in result.output
    # a model card carrying the YAML verifies too, from stdin
    card = "---\nlicense: mit\n" + body["model_card_yaml"] + "---\n# Model\n"
    result = cli("certification", "verify", "-", input=card)
    assert result.exit_code == 0 and "valid receipt" in result.output

    tampered = copy.deepcopy(receipt)
    tampered["receipt"]["revision"] = "f" * 40
    path.write_text(json.dumps(tampered))
    result = cli("certification", "verify", str(path))
    assert result.exit_code == 1
    assert "signature does not match" in result.stderr


def test_certified_statements_are_no_longer_owed(checker, client, operator):
    checker(visibility="private")
    response = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "revision": "r" * 40,
            "signed_name": "Alice Example",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    assert response.status_code == 201
    _, body = checker(visibility="private")
    assert body["decision"] == "allow"


def test_bad_certifications_are_refused_clearly(checker, client, operator):
    checker()

    def post(**overrides):
        body = {
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "revision": "r" * 40,
            "signed_name": "Alice Example",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
            **overrides,
        }
        response = client.post("/api/v1/certifications", headers=operator, json=body)
        return response.status_code, response.get_json()["error"]["code"]

    assert post(repo_id="not a repo") == (422, "invalid_input")
    assert post(repo_type="bucket") == (422, "invalid_input")
    assert post(uploader_id=" ") == (422, "invalid_input")
    assert post(statements=[{"id": "no-csam-training-data", "version": 1, "accepted": False}]) == (
        422,
        "statement_not_accepted",
    )
    assert post(statements=[{"id": "no-csam-training-data", "version": 7, "accepted": True}]) == (
        409,
        "statement_outdated",
    )
    assert post(statements=[{"id": "made-up", "version": 1, "accepted": True}]) == (
        422,
        "unknown_statement",
    )
    assert post(
        statements=[
            {
                "id": "output-watermark",
                "version": 1,
                "accepted": True,
                "fields": {"method": "paint"},
            }
        ]
    ) == (422, "invalid_fields")
    assert post(signed_name="") == (422, "signed_name_required")
    response = client.post(
        "/api/v1/certifications", headers=operator, data="{oops", content_type="application/json"
    )
    assert response.status_code == 400


def test_expired_or_forged_portal_links_are_refused(checker, client, runtime, monkeypatch):
    _, body = checker()
    url = body["required_steps"][0]["url"].replace("http://127.0.0.1", "")
    assert client.get(url).status_code == 200

    with monkeypatch.context() as m:  # a link signed in 2001
        m.setattr(itsdangerous.timed.time, "time", lambda: 1_000_000_000.0)
        old = make_portal_token(runtime, "u-1", purpose="kyu")
    response = client.get(f"/portal/kyu?token={old}")
    assert response.status_code == 401
    assert "expired" in response.get_data(as_text=True)
    response = client.get("/portal/kyu?token=forged.token.value")
    assert response.status_code == 401 and "not valid" in response.get_data(as_text=True)
    assert client.get("/portal/kyu").status_code == 401
