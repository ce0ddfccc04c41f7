"""/.well-known/jwks.json publishes the receipt-signing keys, current and retired, so a receipt
signed before a rotation still verifies."""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hostguard.uploads.receipts import canonical_json

STATEMENTS = [{"id": "no-csam-training-data", "version": 1, "accepted": True}]


def _certify(client, operator, revision: str) -> dict:
    response = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "revision": revision,
            "signed_name": "Alice Example",
            "statements": STATEMENTS,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["receipt"]


def _verifies_with_jwk(signed: dict, jwk: dict) -> bool:
    """What a third party does with only the JWK Set and a receipt (no hostguard code)."""
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            base64.b64decode(signed["signature"]), canonical_json(signed["receipt"])
        )
    except Exception:  # noqa: BLE001 - any failure means "does not verify"
        return False
    return True


def _by_kid(jwks: dict) -> dict[str, dict]:
    return {k["kid"]: k for k in jwks["keys"]}


def test_receipts_signed_before_a_rotation_still_verify(client, operator, runtime, cli, tmp_path):
    before = _certify(client, operator, "a" * 40)
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and jwks.mimetype == "application/json"
    (only,) = jwks.get_json()["keys"]
    assert only["kid"] == before["receipt"]["key_id"] and only["status"] == "current"
    assert _verifies_with_jwk(before, only)

    result = cli("keys", "rotate-signing")
    assert result.exit_code == 0, result.output
    assert "retired" in result.output
    runtime.__dict__.pop("keys", None)  # a restarted server reads the new keyring

    after = _certify(client, operator, "b" * 40)
    assert after["receipt"]["key_id"] != before["receipt"]["key_id"]
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["status"] for k in keys] == ["current", "retired"]
    by_kid = _by_kid({"keys": keys})
    assert by_kid[after["receipt"]["key_id"]]["status"] == "current"
    assert by_kid[before["receipt"]["key_id"]]["status"] == "retired"
    assert _verifies_with_jwk(before, by_kid[before["receipt"]["key_id"]])
    assert _verifies_with_jwk(after, by_kid[after["receipt"]["key_id"]])
    assert not _verifies_with_jwk(before, by_kid[after["receipt"]["key_id"]])
    listed = client.get("/api/v1/keys").get_json()["keys"]
    assert [(k["key_id"], k["status"]) for k in listed] == [(k["kid"], k["status"]) for k in keys]

    # this installation still verifies the old receipt offline, with the retired key
    path = tmp_path / "old-receipt.json"
    path.write_text(json.dumps(before))
    result = cli("certification", "verify", str(path))
    assert result.exit_code == 0, result.output
    assert before["receipt"]["key_id"] in result.output
