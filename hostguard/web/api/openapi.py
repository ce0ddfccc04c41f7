"""Builds the OpenAPI 3.1 document from the routes' own declarations, so it cannot drift."""

from __future__ import annotations

import re

from flask import current_app

from hostguard import __version__
from hostguard.cases.schemas import trimmed_at_least
from hostguard.web.api.examples import EXAMPLES

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
_TYPES = {"int": "integer", "float": "number", "string": "string", "path": "string", None: "string"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def _schema_ref(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _fill_policy_enums(node, policy) -> None:
    """`x-policy-enum: categories` (set on a model's field) becomes the running policy's list, the
    one the check looks values up in (`categories_or_aliases`: with the aliases it maps;
    `queues`: the named queues)."""
    if isinstance(node, dict):
        if node.pop("x-policy-explanation", None):  # a notice's explanation
            node["pattern"] = trimmed_at_least(policy.notices.min_explanation_chars)
            node["maxLength"] = min(node["maxLength"], policy.notices.max_explanation_chars)
        source = node.pop("x-policy-enum", None)
        if source == "categories":
            node["enum"] = sorted(policy.categories)
        elif source == "categories_or_aliases":
            node["enum"] = sorted({*policy.categories, *policy.category_aliases})
        elif source == "queues":  # the named queues, in routing order
            node["enum"] = list(policy.moderation.queues)
        for value in node.values():
            _fill_policy_enums(value, policy)
    elif isinstance(node, list):
        for value in node:
            _fill_policy_enums(value, policy)


def _multipart_schema(parts: dict) -> dict:
    """A part is a description, or its JSON Schema (`required: True` marks a part that must be
    sent; `format: binary` a file)."""
    properties, required = {}, []
    for name, spec in parts.items():
        if isinstance(spec, str):
            properties[name] = {"type": "string", "description": spec}
            continue
        spec = dict(spec)
        if spec.pop("required", False):
            required.append(name)
        properties[name] = spec
    schema: dict = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _add_examples(op: dict, example: dict) -> None:
    """Put the operation's example request and answer where OpenAPI viewers show them."""
    if "request" in example:
        content = op.setdefault("requestBody", {"required": False, "content": {}})["content"]
        content.setdefault("application/json", {"schema": {"type": "object"}})
        content["application/json"]["example"] = example["request"]
    if "multipart" in example and "multipart/form-data" in op.get("requestBody", {}).get(
        "content", {}
    ):
        op["requestBody"]["content"]["multipart/form-data"]["example"] = example["multipart"]
    if "answer" in example:
        status, body, *given = example["answer"]
        response = op["responses"].setdefault(str(status), {"description": "OK"})
        media = given[0] if given else "application/json"
        response.setdefault("content", {}).setdefault(media, {})["example"] = body


def build_document(app=None) -> dict:
    app = app or current_app
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {"Error": ERROR_SCHEMA}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        access = getattr(view, "access", None)
        if access is None or access.kind != "api":
            continue
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": _TYPES.get(conv, "string")},
            }
            for conv, name in _CONVERTER.findall(rule.rule)
        ]
        for name, spec in access.query.items():  # `required: True` marks one that must be sent
            schema = dict(spec)
            required = schema.pop("required", False)
            params.append({"name": name, "in": "query", "required": required, "schema": schema})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict = {
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "summary": access.summary or rule.endpoint,
                "tags": list(access.tags) or [rule.endpoint.split(".")[0]],
                "responses": {},
            }
            if access.rules:
                op["description"] = "Rules the schema cannot say: " + access.rules
            if params:
                op["parameters"] = params
            if access.scopes:
                op["security"] = [{"apiKey": []}]
                op["x-scopes"] = sorted(access.scopes)
                if access.upload_token:  # an uploader's upload token may call it too
                    op["x-upload-token"] = True
                if access.optional_auth:
                    op["security"].append({})
            if access.body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _schema_ref(access.body, components)}
                    },
                }
            if access.multipart:
                op.setdefault("requestBody", {"content": {}})["content"]["multipart/form-data"] = {
                    "schema": _multipart_schema(access.multipart)
                }
            for status, spec in (access.responses or {200: "OK"}).items():
                if isinstance(spec, str):
                    op["responses"][str(status)] = {"description": spec}
                else:
                    op["responses"][str(status)] = {
                        "description": spec.__doc__ or spec.__name__,
                        "content": {"application/json": {"schema": _schema_ref(spec, components)}},
                    }
            op["responses"].setdefault(
                "4XX",
                {
                    "description": "Client error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            )
            _add_examples(op, EXAMPLES.get((method.lower(), path), {}))
            paths.setdefault(path, {})[method.lower()] = op
    _fill_policy_enums(components, app.extensions["hostguard"].policy)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hostguard API",
            "version": __version__,
            "description": "Upload checks, hash scanning, notices, orders and cases.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "hostguard API key"}
            },
        },
    }
