"""Routes of the api surface for webhook endpoints: add, list, remove (a secret is shown once)."""

from __future__ import annotations

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from hostguard.platform.webhooks import (
    add_endpoint,
    endpoint_public,
    list_endpoints,
    remove_endpoint,
)
from hostguard.uploads.check import Text
from hostguard.web.access import actor, api_route, db, json_body, runtime
from hostguard.web.api import bp

OPERATOR = {"operator"}
TAGS = ["webhooks"]


class EndpointIn(BaseModel):
    """An endpoint to add; `events` empty (or omitted): every event."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    url: Text = Field(min_length=8, max_length=500, pattern=r"^https?://[^\s/]+")
    events: list[str] = Field(
        default_factory=list,
        max_length=50,
        json_schema_extra={
            "items": {"type": "string", "maxLength": 64, "pattern": r"^[a-z_*]+(\.[a-z_*]+)*$"}
        },
    )


@api_route(
    bp,
    "/webhook-endpoints",
    scopes=OPERATOR,
    summary="The webhook endpoints events are delivered to (never their secrets), with their "
    "pending, delivered and failed deliveries",
    responses={200: '{"endpoints": [{id, name, url, events, created_at, deliveries}]}'},
    tags=TAGS,
)
def webhook_endpoints():
    session = db()
    return jsonify({"endpoints": [endpoint_public(session, e) for e in list_endpoints(session)]})


@api_route(
    bp,
    "/webhook-endpoints",
    methods=["POST"],
    scopes=OPERATOR,
    body=EndpointIn,
    summary="Add a webhook endpoint; its signing secret is in this answer only (stored encrypted)",
    responses={
        201: "{id, name, url, events, created_at, deliveries, secret}",
        409: "an endpoint with this name exists",
    },
    tags=TAGS,
)
def add_webhook_endpoint():
    body = json_body(EndpointIn)
    session = db()
    endpoint, secret = add_endpoint(
        session, runtime=runtime(), actor=actor(), name=body.name, url=body.url, events=body.events
    )
    return jsonify({**endpoint_public(session, endpoint), "secret": secret}), 201


@api_route(
    bp,
    "/webhook-endpoints/<ident>",
    methods=["DELETE"],
    scopes=OPERATOR,
    summary="Remove a webhook endpoint (by name or id); its pending deliveries are given up",
    responses={200: "{id, url, removed: true}", 404: "no such endpoint (endpoint_not_found)"},
    tags=TAGS,
)
def remove_webhook_endpoint(ident: str):
    endpoint = remove_endpoint(db(), actor=actor(), ident=ident)
    return jsonify({"id": endpoint.id, "url": endpoint.url, "removed": True})
