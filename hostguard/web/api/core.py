"""API routes that belong to no single domain: the OpenAPI document."""

from __future__ import annotations

from flask import jsonify

from hostguard.web.access import api_route
from hostguard.web.api import bp
from hostguard.web.api.openapi import build_document


@api_route(
    bp, "/openapi.json", scopes=None, summary="This API's OpenAPI 3.1 document", tags=["meta"]
)
def openapi():
    return jsonify(build_document())
