"""Receipts signed by the real hostguard verify offline; one changed byte or a foreign key fails."""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hostguard_client.receipts import (
    ReceiptError,
    canonical_json,
    key_id,
    keys_from_document,
    public_key,
    verify_receipt,
)
from tests.conftest import statements_for


@pytest.fixture
def signed(hg, names) -> dict:
    result = hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    step = next(s for s in result.required_steps if s.type == "certification")
    return hg.certify(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        statements=statements_for(step),
        signed_name="Alice Example-Person",
    ).receipt


def as_jwks(keys_answer: list[dict]) -> dict:
    """The /api/v1/keys answer written as a JWKS, as /.well-known/jwks.json publishes it."""
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "use": "sig",
                "alg": "EdDSA",
                "kid": k["key_id"],
                "x": base64.urlsafe_b64encode(base64.b64decode(k["public_key"]))
                .decode()
                .rstrip("="),
            }
            for k in keys_answer
        ]
    }


def test_a_receipt_from_the_server_verifies_with_its_published_keys(hg, signed, names):
    published = hg.public_keys()
    for document in ({"keys": published}, as_jwks(published)):
        verified = verify_receipt(signed, keys=keys_from_document(document))
        assert verified.repo == names["repo"] and verified.revision == names["revision"]
        assert verified.key_id == published[0]["key_id"]
    assert verify_receipt(signed, keys=public_key(published[0]["public_key"])).claims


def test_one_changed_byte_fails(hg, signed):
    keys = keys_from_document({"keys": hg.public_keys()})
    text = canonical_json(signed["receipt"]).decode()
    for position in range(0, len(text), max(1, len(text) // 25)):
        if text[position] in '{}[]":,':
            continue  # those bytes make invalid JSON, not an altered receipt
        changed = text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1 :]
        try:
            altered = {**signed, "receipt": json.loads(changed)}
        except ValueError:
            continue
        with pytest.raises(ReceiptError):
            verify_receipt(altered, keys=keys)
    signature = bytearray(base64.b64decode(signed["signature"]))
    signature[0] ^= 1
    with pytest.raises(ReceiptError, match="does not match"):
        verify_receipt({**signed, "signature": base64.b64encode(signature).decode()}, keys=keys)


def test_a_receipt_signed_with_its_own_embedded_key_is_not_trusted(hg, signed):
    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    body = copy.deepcopy(signed["receipt"])
    body["revision"] = "f" * 40
    body["key_id"] = key_id(forger.public_key())
    forged = {
        "receipt": body,
        "signature": base64.b64encode(forger.sign(canonical_json(body))).decode(),
        "public_key": base64.b64encode(raw).decode(),
    }
    with pytest.raises(ReceiptError, match="not among the trusted keys"):
        verify_receipt(forged, keys=keys_from_document({"keys": hg.public_keys()}))


def _cli() -> list[str]:
    found = shutil.which("hostguard-verify-receipt", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "hostguard_client.receipts"]


def test_the_command_line_verifier_says_valid_or_invalid(hg, signed, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(as_jwks(hg.public_keys())))
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(signed))
    ok = subprocess.run(
        [*_cli(), str(good), "--jwks", str(jwks)], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("VALID: ") and signed["receipt"]["repo"] in ok.stdout
    bad = tmp_path / "altered.json"
    bad.write_text(json.dumps({**signed, "receipt": {**signed["receipt"], "revision": "0" * 40}}))
    no = subprocess.run(
        [*_cli(), str(bad), "--jwks", str(jwks)], capture_output=True, text=True, timeout=60
    )
    assert no.returncode == 1 and no.stderr.startswith("INVALID: ") and "altered" in no.stderr
    key = subprocess.run(
        [*_cli(), str(good), "--key", hg.public_keys()[0]["public_key"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert key.returncode == 0, key.stderr
