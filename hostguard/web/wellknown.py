"""Well-known URLs: the receipt-signing keys as a JWK Set, for verifiers that fetch keys by kid."""

from __future__ import annotations

from flask import Blueprint, jsonify

from hostguard.uploads.receipts import jwks
from hostguard.web.access import public_route, runtime

bp = Blueprint("wellknown", __name__)


@public_route(bp, "/.well-known/jwks.json")
def jwks_json():
    """Current and retired Ed25519 keys (OKP JWKs, `kid` = the receipt's `key_id`)."""
    keys = runtime().keys
    response = jsonify(jwks(keys.public_key, keys.retired_public_keys))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
