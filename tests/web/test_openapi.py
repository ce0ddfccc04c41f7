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
            if body and "$ref" in body["schema"]:  # the Hub's webhook is described as an object
                ref = body["schema"]["$ref"].rsplit("/", 1)[1]
                assert ref in document["components"]["schemas"], f"{path}: {ref} undefined"


def test_every_operation_has_an_example_request_and_answer(app):
    """Each operation shows an example answer, and an example request when it takes a body; a
    JSON request example is valid for the route's body model."""
    with app.app_context():
        document = build_document(app)
    missing = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            answers = [
                media
                for status, response in op["responses"].items()
                if status.startswith("2")
                for media in response.get("content", {}).values()
                if "example" in media
            ]
            if not answers:
                missing.append(f"{method.upper()} {path}: no example answer")
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                if "example" not in media:
                    missing.append(f"{method.upper()} {path}: no {media_type} example request")
    assert not missing, "\n".join(missing)
    for rule in app.url_map.iter_rules():
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if access is None or access.kind != "api" or access.body is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            example = document["paths"][path][method.lower()]["requestBody"]["content"][
                "application/json"
            ]["example"]
            access.body.model_validate(example)  # raises when the example is not a valid body


def test_the_document_states_the_rules_the_checks_apply(app):
    """What the checks refuse, the document refuses too (issue 17): the policy's categories,
    owner/name ids, required parts and parameters, and text that is blank once trimmed."""
    from hostguard.cases.schemas import NOT_BLANK
    from hostguard.platform.service import REPO_ID_PATTERN

    policy = app.extensions["hostguard"].policy
    with app.app_context():
        document = build_document(app)
    schemas, paths = document["components"]["schemas"], document["paths"]
    notice = schemas["NoticeBody"]
    assert notice["properties"]["category"]["enum"] == sorted(policy.categories)
    assert notice["properties"]["items"]["items"]["pattern"] == REPO_ID_PATTERN
    assert notice["properties"]["items"]["minItems"] == 1
    assert "good_faith" in notice["required"]
    assert set(policy.category_aliases) <= set(
        schemas["OrderBody"]["properties"]["category"]["enum"]
    )
    assert schemas["NoteBody"]["properties"]["body"]["pattern"] == NOT_BLANK
    saved_filter = schemas["QueueFilterBody"]
    assert saved_filter["properties"]["queue"]["enum"] == list(policy.moderation.queues)
    assert saved_filter["minProperties"] == 1
    kyu = paths["/api/v1/uploaders/{uploader_id}/kyu"]["post"]["requestBody"]["content"]
    assert "id_document" in kyu["multipart/form-data"]["schema"]["required"]
    search = paths["/api/v1/cases/search"]["get"]["parameters"]
    assert {"name": "q", "in": "query", "required": True}.items() <= search[-2].items()
    # blank as the checks see it (str.strip), for every character up to U+3100
    blank = re.compile(NOT_BLANK)
    disagree = [hex(c) for c in range(0x3100) if bool(blank.search(chr(c))) != bool(chr(c).strip())]
    assert not disagree
