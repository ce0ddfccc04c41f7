"""The OpenAPI document describes every API route, with its scopes and bodies."""

import re

from hostguard.web.api.openapi import build_document


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in document["paths"], f"{rule.rule} missing from OpenAPI"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = document["paths"][path].get(method.lower())
            assert op, f"{method} {rule.rule} missing from OpenAPI"
            assert op["summary"] and op["responses"]
            view = app.view_functions[rule.endpoint]
            if view.access.scopes:
                assert op["x-scopes"] == sorted(view.access.scopes)


def test_request_bodies_reference_schemas(app):
    with app.app_context():
        document = build_document(app)
    for path, ops in document["paths"].items():
        for op in ops.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                ref = body["schema"]["$ref"].rsplit("/", 1)[1]
                assert ref in document["components"]["schemas"], f"{path}: {ref} undefined"
