"""Certification receipts: signed, verifiable offline, tamper-evident, embeddable in a model card."""

from __future__ import annotations

import base64
import copy

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hostguard.uploads.receipts import (
    ReceiptError,
    extract_receipt,
    model_card_metadata,
    public_key_from_b64,
    sign_receipt,
    verify_receipt,
)

CLAIMS = {
    "certification_id": "c-1",
    "uploader": "u-42",
    "repo": "alice/pixels",
    "revision": "a" * 40,
    "statements": [
        {"id": "no-csam-training-data", "version": 1, "text_sha256": "0" * 64, "fields": {}}
    ],
    "signed_at": "2026-11-22T12:00:00+00:00",
    "policy": {"id": "default", "version": 1},
}


def _pub_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_signed_receipt_verifies_with_the_trusted_key():
    key = Ed25519PrivateKey.generate()
    signed = sign_receipt(CLAIMS, key)
    verified = verify_receipt(signed, public_key=public_key_from_b64(_pub_b64(key)))
    assert verified.key_source == "given"
    assert verified.receipt["repo"] == "alice/pixels"


@pytest.mark.parametrize(
    "path",
    [
        ("repo",),
        ("revision",),
        ("statements", 0, "version"),
        ("statements", 0, "text_sha256"),
        ("policy", "version"),
        ("signed_at",),
    ],
)
def test_any_change_breaks_the_signature(path):
    key = Ed25519PrivateKey.generate()
    signed = copy.deepcopy(sign_receipt(CLAIMS, key))
    target = signed["receipt"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = (
        target[path[-1]] + 1 if isinstance(target[path[-1]], int) else target[path[-1]] + "x"
    )
    with pytest.raises(ReceiptError, match="signature does not match"):
        verify_receipt(signed)


def test_a_receipt_from_another_key_is_refused():
    signed = sign_receipt(CLAIMS, Ed25519PrivateKey.generate())
    other = public_key_from_b64(_pub_b64(Ed25519PrivateKey.generate()))
    with pytest.raises(ReceiptError, match="signed with key"):
        verify_receipt(signed, public_key=other)


def test_a_forger_swapping_the_embedded_key_fails_against_the_trusted_key():
    key, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = sign_receipt({**CLAIMS, "repo": "mallory/x"}, forger)
    assert verify_receipt(forged).key_source == "embedded"  # self-consistent, proves nothing
    with pytest.raises(ReceiptError):
        verify_receipt(forged, public_key=public_key_from_b64(_pub_b64(key)))


def test_model_card_round_trip():
    key = Ed25519PrivateKey.generate()
    signed = sign_receipt(CLAIMS, key)
    card = "---\nlicense: mit\n" + model_card_metadata(signed) + "---\n# My model\n"
    found = extract_receipt(card)
    assert found == signed
    assert verify_receipt(found).receipt["signed_at"] == CLAIMS["signed_at"]
    assert yaml.safe_load(model_card_metadata(signed))["hostguard_certification"]["signature"]


def test_extract_reports_bad_input():
    with pytest.raises(ReceiptError, match="invalid JSON at line 1"):
        extract_receipt("{nope")
    with pytest.raises(ReceiptError, match="no receipt found"):
        extract_receipt("license: mit\n")


def _forged_receipt_file(tmp_path):
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hostguard.uploads.receipts import sign_receipt

    forged = sign_receipt(
        {
            "certification_id": "forged-1",
            "uploader": "mallory",
            "repo": "mallory/model",
            "revision": "f" * 40,
            "statements": [],
            "signed_at": "2026-01-01T00:00:00+00:00",
            "policy": {"id": "default", "version": 1},
        },
        Ed25519PrivateKey.generate(),
    )
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    return path


def test_offline_verify_without_a_trusted_key_does_not_pass_a_forgery(tmp_path, monkeypatch):
    """No --public-key and no installation: the embedded key proves nothing, so it is not 'valid'."""
    from click.testing import CliRunner

    from hostguard.cli import main

    monkeypatch.setenv("HOSTGUARD_DATA_DIR", str(tmp_path / "no-installation"))
    path = _forged_receipt_file(tmp_path)
    result = CliRunner().invoke(main, ["certification", "verify", str(path)])
    assert result.exit_code == 3, result.output
    assert "NOT VERIFIED" in result.output and "valid receipt" not in result.output
    assert "--public-key" in result.output


def test_offline_verify_of_a_forgery_fails_against_the_trusted_key(cli, client, tmp_path):
    key = client.get("/api/v1/keys").get_json()["keys"][0]["public_key"]
    path = _forged_receipt_file(tmp_path)
    result = cli("certification", "verify", str(path), "--public-key", key)
    assert result.exit_code == 1 and "receipt does not verify" in result.output
    result = cli("certification", "verify", str(path))  # this installation's key
    assert result.exit_code == 1 and "receipt does not verify" in result.output
