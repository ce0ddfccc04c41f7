"""API routes that belong to no single domain: the OpenAPI document and its rendering."""

from __future__ import annotations

from flask import jsonify, make_response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from hostguard.errors import NotFound
from hostguard.web.access import api_route
from hostguard.web.api import bp
from hostguard.web.api.openapi import build_document


@api_route(
    bp, "/openapi.json", scopes=None, summary="This API's OpenAPI 3.1 document", tags=["meta"]
)
def openapi():
    return jsonify(build_document())


# Swagger UI's own files, shipped in the swagger-ui-bundle package (nothing from a CDN)
DOCS_ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})
# Swagger UI sets inline styles; the page's scripts are our files only
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


@api_route(
    bp,
    "/docs",
    scopes=None,
    summary="This API's OpenAPI document rendered for people (Swagger UI, served from a Python "
    "package: no CDN)",
    responses={200: "an HTML page"},
    tags=["meta"],
)
def api_docs():
    response = make_response(render_template("api_docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@api_route(
    bp,
    "/docs/assets/<name>",
    scopes=None,
    summary="Swagger UI's script and style sheet for /api/v1/docs",
    responses={200: "the file", 404: "no such asset (not_found)"},
    tags=["meta"],
)
def api_docs_asset(name: str):
    if name not in DOCS_ASSETS:
        raise NotFound(f"no asset {name[:100]!r}")
    response = send_from_directory(swagger_ui_path, name, max_age=3600)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
