"""Signed scan attestations: Ed25519 over canonical JSON, checkable offline by anyone.

An attestation says which dataset was scanned (a Hub repository at a revision, or a digest
over its shards' SHA-256s), against which hash lists (name, algorithm, version, threshold),
with which algorithms, what was counted (images, unreadable, matched) and when. It is signed
with the installation's signing key, the key receipts are signed with (published at
/api/v1/keys), and carries no image, hash or list entry, so it can be published in the
dataset card's YAML metadata under `hostguard_dataset_scan`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, TypedDict

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hostguard.keys import canonical_json, key_id, raw_public_key

ATTESTATION_TYPE = "hostguard.dataset-scan/v1"
DATASET_CARD_KEY = "hostguard_dataset_scan"


class AttestationError(Exception):
    """The attestation cannot be read or does not verify; the message says why."""


def shards_digest(shard_sha256s: list[str]) -> str:
    """A dataset's identity from its shards: SHA-256 over their sorted SHA-256s, one a line."""
    return hashlib.sha256("".join(f"{s}\n" for s in sorted(shard_sha256s)).encode()).hexdigest()


class SignedAttestation(TypedDict):
    attestation: dict[str, Any]  # the claims, with `type` and `key_id`
    signature: str  # base64 Ed25519 signature of the canonical JSON of `attestation`
    public_key: str  # base64 of the signing key's raw public bytes


def sign_attestation(claims: dict, signing_key: Ed25519PrivateKey) -> SignedAttestation:
    public = signing_key.public_key()
    body = {"type": ATTESTATION_TYPE, "key_id": key_id(public), **claims}
    return {
        "attestation": body,
        "signature": base64.b64encode(signing_key.sign(canonical_json(body))).decode(),
        "public_key": base64.b64encode(raw_public_key(public)).decode(),
    }


@dataclass
class VerifiedAttestation:
    attestation: dict
    key_id: str
    key_source: str  # "given" (a key the verifier trusts) or "embedded" (only its own)


def verify_attestation(
    signed: dict, *, public_key: Ed25519PublicKey | None = None
) -> VerifiedAttestation:
    """Check the signature; with no trusted key given, the embedded key is used and says so."""
    if not isinstance(signed, dict) or not isinstance(signed.get("attestation"), dict):
        raise AttestationError("not a hostguard dataset attestation: no 'attestation' mapping")
    body = signed["attestation"]
    if body.get("type") != ATTESTATION_TYPE:
        raise AttestationError(f"unknown attestation type {body.get('type')!r}")
    source = "given"
    if public_key is None:
        try:
            raw = base64.b64decode(str(signed.get("public_key", "")), validate=True)
            public_key = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise AttestationError("no public key given and none embedded") from exc
        source = "embedded"
    if body.get("key_id") != key_id(public_key):
        raise AttestationError(
            f"attestation was signed with key {body.get('key_id')}, not {key_id(public_key)}"
        )
    try:
        signature = base64.b64decode(str(signed.get("signature", "")), validate=True)
        public_key.verify(signature, canonical_json(body))
    except (binascii.Error, InvalidSignature) as exc:
        raise AttestationError(
            "signature does not match: the attestation was altered or not signed by this key"
        ) from exc
    return VerifiedAttestation(attestation=body, key_id=key_id(public_key), key_source=source)


def dataset_card_metadata(signed: dict) -> str:
    """YAML to paste into the dataset card's metadata block (README.md front matter)."""
    return yaml.safe_dump({DATASET_CARD_KEY: signed}, sort_keys=False, allow_unicode=True)


def find_attestation(data: Any) -> dict | None:
    """The signed attestation in parsed JSON/YAML (bare, or under `hostguard_dataset_scan`, or
    as the `attestation` of a `hostguard dataset scan --json` result), or None."""
    if not isinstance(data, dict):
        return None
    if DATASET_CARD_KEY in data:
        data = data[DATASET_CARD_KEY]
    if isinstance(data, dict) and isinstance(data.get("attestation"), dict):
        inner = data["attestation"]
        if "attestation" in inner and "signature" in inner:  # the scan's --json output
            return inner
        return data
    return None


def parse_document(text: str) -> Any:
    """JSON, YAML, or a card (README.md with YAML front matter), parsed."""
    stripped = text.lstrip("\ufeff")
    if stripped.lstrip().startswith("{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise AttestationError(
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
    if stripped.startswith("---"):
        parts = stripped.split("\n---", 1)
        stripped = parts[0][3:] if len(parts) == 2 else stripped
    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as exc:
        raise AttestationError(f"not JSON or YAML: {exc}") from exc
