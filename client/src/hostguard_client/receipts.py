"""Verify hostguard certification receipts offline: Ed25519 over canonical JSON, keys from a JWKS.

Depends on `cryptography` and the standard library only, so a third party (a model's user, an
auditor) can check a receipt without hostguard or its server:

    hostguard-verify-receipt receipt.json --jwks https://hostguard.example.org/.well-known/jwks.json

A receipt is `{"receipt": {claims, "type", "key_id"}, "signature": base64, "public_key": base64}`;
the signature covers the canonical JSON of `receipt` (sorted keys, no spaces, UTF-8), and
`key_id` is the first 16 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

RECEIPT_TYPE = "hostguard.certification/v1"
MODEL_CARD_KEY = "hostguard_certification"


class ReceiptError(Exception):
    """The receipt or the keys cannot be read, or the receipt does not verify; says why."""


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt whose signature checked out with a key the verifier was given."""

    claims: dict[str, Any]
    key_id: str

    @property
    def repo(self) -> str:
        return str(self.claims.get("repo", ""))

    @property
    def revision(self) -> str:
        return str(self.claims.get("revision", ""))


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """The exact bytes hostguard signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _b64decode(value: str, *, url: bool) -> bytes:
    text = value.strip()
    if url:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return base64.b64decode(text, validate=True)


def public_key(raw_or_b64: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 raw bytes or their base64 (standard or URL-safe)."""
    try:
        if isinstance(raw_or_b64, str):
            text = raw_or_b64.strip().replace("-", "+").replace("_", "/").rstrip("=")
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            raw = raw_or_b64
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ReceiptError("not an Ed25519 public key (32 bytes, base64)") from exc


def keys_from_document(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Key id -> key from a JWKS (`{"keys": [{"kty": "OKP", "crv": "Ed25519", "x", "kid"}]}`).

    hostguard's /api/v1/keys answer (`{"keys": [{"key_id", "public_key"}]}`) is read too. Keys
    of other types are passed over; each key is listed under its own fingerprint and its `kid`.
    """
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ReceiptError("not a key set: no 'keys' list")
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if entry.get("kty") == "OKP" and entry.get("crv") == "Ed25519" and "x" in entry:
            try:
                key = Ed25519PublicKey.from_public_bytes(_b64decode(str(entry["x"]), url=True))
            except (binascii.Error, ValueError) as exc:
                raise ReceiptError(f"key {entry.get('kid')!r}: 'x' is not an Ed25519 key") from exc
            label = entry.get("kid")
        elif entry.get("algorithm") == "Ed25519" and "public_key" in entry:
            key = public_key(str(entry["public_key"]))
            label = entry.get("key_id")
        else:
            continue
        keys[key_id(key)] = key
        if isinstance(label, str) and label:
            keys[label] = key
    if not keys:
        raise ReceiptError("the key set holds no Ed25519 key")
    return keys


def verify_receipt(
    signed: Mapping[str, Any],
    *,
    keys: Mapping[str, Ed25519PublicKey] | Sequence[Ed25519PublicKey] | Ed25519PublicKey,
) -> VerifiedReceipt:
    """Check a signed receipt against keys you trust; raises ReceiptError saying what is wrong.

    The key embedded in the receipt is never trusted by itself: anyone can sign with their own.
    """
    if not isinstance(signed, Mapping) or not isinstance(signed.get("receipt"), Mapping):
        raise ReceiptError("not a hostguard receipt: no 'receipt' mapping")
    body = signed["receipt"]
    if body.get("type") != RECEIPT_TYPE:
        raise ReceiptError(f"unknown receipt type {body.get('type')!r}")
    if isinstance(keys, Ed25519PublicKey):
        trusted = {key_id(keys): keys}
    elif isinstance(keys, Mapping):
        trusted = dict(keys)
    else:
        trusted = {key_id(k): k for k in keys}
    wanted = body.get("key_id")
    key = trusted.get(str(wanted))
    if key is None or key_id(key) != wanted:
        raise ReceiptError(
            f"the receipt was signed with key {wanted!r}, which is not among the trusted keys "
            f"({', '.join(sorted({key_id(k) for k in trusted.values()})) or 'none'})"
        )
    try:
        signature = _b64decode(str(signed.get("signature", "")), url=False)
        key.verify(signature, canonical_json(body))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise ReceiptError(
            "the signature does not match: the receipt was altered or not signed by this key"
        ) from exc
    return VerifiedReceipt(claims=dict(body), key_id=str(wanted))


def load_receipt(text: str) -> dict[str, Any]:
    """A signed receipt from JSON: the receipt itself, or `{"hostguard_certification": receipt}`."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ReceiptError(
            f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); for a model card, "
            f"copy the '{MODEL_CARD_KEY}' block into a JSON file"
        ) from exc
    if isinstance(data, dict) and MODEL_CARD_KEY in data:
        data = data[MODEL_CARD_KEY]
    if not isinstance(data, dict) or "receipt" not in data:
        raise ReceiptError("no receipt found (expected 'receipt', 'signature' and 'public_key')")
    return data


def load_key_document(source: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """A JWKS (or /api/v1/keys) document from a file path or an http(s) URL."""
    try:
        if source.startswith(("https://", "http://")):
            with urllib.request.urlopen(source, timeout=timeout) as response:  # noqa: S310
                text = response.read(1_000_000).decode()
        else:
            text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise ReceiptError(f"could not read the keys from {source}: {exc}") from exc
    except ValueError as exc:
        raise ReceiptError(f"the keys at {source} are not JSON") from exc
    if not isinstance(data, dict):
        raise ReceiptError(f"the keys at {source} are not a JSON object")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """`hostguard-verify-receipt FILE (--jwks FILE|URL | --key BASE64)`: exit 0 valid, 1 not."""
    parser = argparse.ArgumentParser(
        prog="hostguard-verify-receipt",
        description="Verify a hostguard certification receipt offline against published keys.",
    )
    parser.add_argument("file", help="the receipt as JSON ('-' reads standard input)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jwks", help="a JWKS file or URL (e.g. …/.well-known/jwks.json)")
    source.add_argument("--key", help="a trusted Ed25519 public key, base64")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        signed = load_receipt(text)
        if args.jwks:
            keys = keys_from_document(load_key_document(args.jwks))
        else:
            given = public_key(args.key)
            keys = {key_id(given): given}
        verified = verify_receipt(signed, keys=keys)
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ReceiptError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    claims = verified.claims
    statements = ", ".join(
        f"{s.get('id')} v{s.get('version')}" for s in claims.get("statements", [])
    )
    print(
        f"VALID: {claims.get('repo')}@{claims.get('revision')} certified by uploader "
        f"{claims.get('uploader')} at {claims.get('signed_at')} ({statements}); key {verified.key_id}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
