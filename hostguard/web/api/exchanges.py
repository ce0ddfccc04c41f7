"""Routes of the api surface for exchanges: connect, see, fetch and disconnect (never credentials)."""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from hostguard.exchanges.clients import EXCHANGE_TYPES
from hostguard.exchanges.service import (
    add_exchange,
    check_not_fetching,
    enqueue_fetch,
    list_exchanges,
    remove_exchange,
)
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.web.access import actor, api_route, db, json_body, runtime
from hostguard.web.api import bp

OPERATOR = {"operator"}
TAGS = ["exchanges"]


class ExchangeBody(BaseModel):
    """`hostguard exchange add` as JSON; credentials are stored encrypted and never returned."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: Literal[EXCHANGE_TYPES]  # type: ignore[valid-type]
    algorithm: Literal[tuple(ALGORITHMS)] = "pdq"  # type: ignore[valid-type]
    url: str | None = None
    base_url: str | None = None
    environment: str | None = None
    privacy_group: str | None = None
    credentials: dict[str, str] = Field(default_factory=dict)


@api_route(
    bp,
    "/exchanges",
    methods=["GET"],
    scopes=OPERATOR,
    summary="Connected exchanges and their state (last success, added, removed, lag, errors)",
    responses={200: '{"exchanges": [{name, type, algorithm, list, settings, credentials, ...}]}'},
    tags=TAGS,
)
def exchanges():
    return jsonify({"exchanges": list_exchanges(session=db())})


@api_route(
    bp,
    "/exchanges",
    methods=["POST"],
    scopes=OPERATOR,
    body=ExchangeBody,
    rules="the type decides which settings are needed: a file exchange a url, "
    "ThreatExchange a numeric privacy_group, NCMEC an environment of its list",
    summary="Connect an exchange; it feeds the hash list of its name",
    responses={201: "the exchange (credentials: stored)", 409: "the name is taken"},
    tags=TAGS,
)
def add():
    body = json_body(ExchangeBody)
    info = add_exchange(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        policy=runtime().policy,
        name=body.name,
        type=body.type,
        algorithm=body.algorithm,
        settings=body.model_dump(include={"url", "base_url", "environment", "privacy_group"}),
        credentials=body.credentials,
    )
    return jsonify(info), 201


@api_route(
    bp,
    "/exchanges/<name>/fetch",
    methods=["POST"],
    scopes=OPERATOR,
    summary="Fetch an exchange now (queued for the worker)",
    responses={
        202: "{exchange, queued: true}",
        409: "fetch_running: another process is fetching the exchange now",
    },
    tags=TAGS,
)
def fetch(name: str):
    check_not_fetching(session=db(), name=name)
    enqueue_fetch(session=db(), name=name, manual=True)
    return jsonify({"exchange": name, "queued": True}), 202


@api_route(
    bp,
    "/exchanges/<name>",
    methods=["DELETE"],
    scopes=OPERATOR,
    summary="Disconnect an exchange and remove the hash list it fed",
    responses={200: "{removed, entries}"},
    tags=TAGS,
)
def remove(name: str):
    info = remove_exchange(session=db(), actor=actor(), name=name)
    return jsonify({"removed": info["name"], "entries": info["entries"]})
