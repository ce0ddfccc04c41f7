"""Signed certification receipts: Ed25519 over canonical JSON, checkable offline.

A receipt says who certified which statements (by id, version and the SHA-256 of the text
they were shown) for which repository revision, when, and under which policy version. It
carries no personal data beyond the platform's uploader id, so it can be published in the
model card's YAML metadata under `hostguard_certification`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, TypedDict

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hostguard.keys import canonical_json, key_id, raw_public_key

RECEIPT_TYPE = "hostguard.certification/v1"
MODEL_CARD_KEY = "hostguard_certification"


class ReceiptError(Exception):
    """The receipt cannot be read or does not verify; the message says why."""


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_key(key)).decode()


def jwks(current: Ed25519PublicKey, retired: list[Ed25519PublicKey]) -> dict[str, Any]:
    """The receipt-signing keys as a JWK Set: the current key first, then retired ones."""
    return {"keys": [jwk(current, status="current"), *(jwk(k, status="retired") for k in retired)]}


def jwk(key: Ed25519PublicKey, *, status: str) -> dict[str, Any]:
    """The key as an RFC 8037 JSON Web Key (OKP, Ed25519), `kid` its `key_id`."""
    x = base64.urlsafe_b64encode(raw_public_key(key)).rstrip(b"=").decode()
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": key_id(key),
        "use": "sig",
        "alg": "EdDSA",
        "key_ops": ["verify"],
        "status": status,  # current: signs new receipts; retired: only verifies older ones
    }


def key_for_receipt(signed: dict, keys: list[Ed25519PublicKey]) -> Ed25519PublicKey | None:
    """Of the trusted keys (current first, then retired), the one the receipt names by key_id."""
    body = signed.get("receipt") if isinstance(signed, dict) else None
    wanted = body.get("key_id") if isinstance(body, dict) else None
    return next((k for k in keys if key_id(k) == wanted), None)


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ReceiptError("the public key is not a base64 Ed25519 key (32 bytes)") from exc


class SignedReceipt(TypedDict):
    """A signed receipt as stored, given to the uploader and put in a model card."""

    receipt: dict[str, Any]  # the claims, with `type` and `key_id` first
    signature: str  # base64 Ed25519 signature of the canonical JSON of `receipt`
    public_key: str  # base64 of the signing key's raw public bytes


def sign_receipt(claims: dict, signing_key: Ed25519PrivateKey) -> SignedReceipt:
    """Wrap the claims with type and key id and sign them."""
    public = signing_key.public_key()
    body = {"type": RECEIPT_TYPE, "key_id": key_id(public), **claims}
    signature = signing_key.sign(canonical_json(body))
    return {
        "receipt": body,
        "signature": base64.b64encode(signature).decode(),
        "public_key": base64.b64encode(raw_public_key(public)).decode(),
    }


@dataclass
class Verified:
    receipt: dict
    key_id: str
    key_source: str  # "given" (a key the verifier trusts) or "embedded" (only the receipt's own)


def verify_receipt(signed: dict, *, public_key: Ed25519PublicKey | None = None) -> Verified:
    """Check the signature; with no trusted key given, the embedded key is used and says so."""
    if not isinstance(signed, dict) or not isinstance(signed.get("receipt"), dict):
        raise ReceiptError("not a hostguard receipt: no 'receipt' mapping")
    body = signed["receipt"]
    if body.get("type") != RECEIPT_TYPE:
        raise ReceiptError(f"unknown receipt type {body.get('type')!r}")
    source = "given"
    if public_key is None:
        if not isinstance(signed.get("public_key"), str):
            raise ReceiptError("no public key given and none embedded in the receipt")
        public_key = public_key_from_b64(signed["public_key"])
        source = "embedded"
    if body.get("key_id") != key_id(public_key):
        raise ReceiptError(
            f"receipt was signed with key {body.get('key_id')}, not {key_id(public_key)}"
        )
    try:
        signature = base64.b64decode(str(signed.get("signature", "")), validate=True)
        public_key.verify(signature, canonical_json(body))
    except (binascii.Error, InvalidSignature) as exc:
        raise ReceiptError(
            "signature does not match: the receipt was altered or not signed by this key"
        ) from exc
    return Verified(receipt=body, key_id=key_id(public_key), key_source=source)


def model_card_metadata(signed: dict) -> str:
    """YAML to paste into the model card's metadata block."""
    return yaml.safe_dump({MODEL_CARD_KEY: signed}, sort_keys=False, allow_unicode=True)


def extract_receipt(text: str) -> dict[str, Any]:
    """Find a receipt in JSON, in YAML, or in a model card (README.md with YAML front matter)."""
    stripped = text.lstrip("\ufeff")
    if stripped.lstrip().startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ReceiptError(
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
    else:
        if stripped.startswith("---"):
            parts = stripped.split("\n---", 1)
            stripped = parts[0][3:] if len(parts) == 2 else stripped
        try:
            data = yaml.safe_load(stripped)
        except yaml.YAMLError as exc:
            raise ReceiptError(f"not JSON or YAML: {exc}") from exc
    if isinstance(data, dict) and MODEL_CARD_KEY in data:
        data = data[MODEL_CARD_KEY]
    if not isinstance(data, dict) or "receipt" not in data:
        raise ReceiptError(
            f"no receipt found (expected a signed receipt or a '{MODEL_CARD_KEY}' key)"
        )
    return data
