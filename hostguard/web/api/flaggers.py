"""The trusted-flagger register (Art. 22 DSA): staff read it; admins add, suspend, reinstate."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from hostguard.accounts import flaggers
from hostguard.accounts.models import ADMINS, STAFF
from hostguard.cases.flaggers import flagger_figures
from hostguard.cases.schemas import POLICY_CATEGORY, SAYS_SOMETHING
from hostguard.errors import InvalidInput
from hostguard.web.access import actor, api_route, db, json_body, runtime
from hostguard.web.api import bp
from hostguard.web.api.cases import MODERATOR, staff_user

TAGS = ["trusted flaggers"]


_EU_MEMBER_STATES: JsonDict = {"enum": [*sorted(flaggers.EU_MEMBER_STATES)]}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlaggerBody(_Body):
    name: str = Field(max_length=200, json_schema_extra=SAYS_SOMETHING)
    coordinator: str = Field(
        max_length=300,
        json_schema_extra=SAYS_SOMETHING,
        description="the Digital Services Coordinator",
    )
    member_state: str = Field(
        max_length=2,
        description="the coordinator's EU member state",
        json_schema_extra=_EU_MEMBER_STATES,
    )
    areas: list[Annotated[str, Field(json_schema_extra=POLICY_CATEGORY)]] = Field(
        max_length=50,
        description="policy categories of expertise (at least one)",
        json_schema_extra={"minItems": 1},  # the check names every bad field at once
    )
    designated_on: date
    designation_reference: str = Field(max_length=200, json_schema_extra=SAYS_SOMETHING)


class FlaggerStatusBody(_Body):
    reason: str = Field(max_length=1000)


def _figures() -> dict[int, dict]:
    since, until = request.args.get("since"), request.args.get("until")
    start = flaggers.parse_day(since) if since else None
    end = flaggers.parse_day(until) if until else None
    if (since and start is None) or (until and end is None):
        raise InvalidInput("since and until are dates (YYYY-MM-DD)", code="invalid_period")
    return {f["flagger_id"]: dict(f) for f in flagger_figures(db(), since=start, until=end)}


@api_route(
    bp,
    "/trusted-flaggers",
    scopes=MODERATOR,
    summary="The trusted-flagger register with each flagger's Art. 22(3) figures "
    "(since/until: the notices' period)",
    tags=TAGS,
)
def list_trusted_flaggers():
    staff_user(STAFF, what="read the trusted-flagger register")
    figures = _figures()
    return jsonify(
        {
            "items": [
                flaggers.flagger_json(f) | {"figures": figures.get(f.id or 0)}
                for f in flaggers.list_flaggers(db())
            ]
        }
    )


@api_route(
    bp,
    "/trusted-flaggers",
    methods=["POST"],
    scopes=MODERATOR,
    body=FlaggerBody,
    summary="Enter a designated trusted flagger in the register (admin)",
    responses={201: "the register entry"},
    tags=TAGS,
)
def create_trusted_flagger():
    staff_user(ADMINS, what="change the trusted-flagger register (admin)")
    body = json_body(FlaggerBody)
    flagger = flaggers.add_flagger(
        session=db(),
        actor=actor(),
        policy=runtime().policy,
        name=body.name,
        coordinator=body.coordinator,
        member_state=body.member_state,
        areas=body.areas,
        designated_on=body.designated_on,
        designation_reference=body.designation_reference,
    )
    return jsonify(flaggers.flagger_json(flagger, keys=[])), 201


@api_route(
    bp,
    "/trusted-flaggers/<ident>",
    scopes=MODERATOR,
    summary="A register entry (by id or name) with its API keys and figures",
    tags=TAGS,
)
def show_trusted_flagger(ident: str):
    staff_user(STAFF, what="read the trusted-flagger register")
    flagger = flaggers.get_flagger(db(), ident)
    keys = flaggers.flagger_keys(db(), flagger)
    return jsonify(
        flaggers.flagger_json(flagger, keys=keys) | {"figures": _figures().get(flagger.id or 0)}
    )


@api_route(
    bp,
    "/trusted-flaggers/<ident>/suspend",
    methods=["POST"],
    scopes=MODERATOR,
    body=FlaggerStatusBody,
    summary="Suspend a trusted flagger at its coordinator's request (Art. 22(6); admin): its "
    "notices are handled as ordinary notices",
    tags=TAGS,
)
def suspend_trusted_flagger(ident: str):
    staff_user(ADMINS, what="change the trusted-flagger register (admin)")
    body = json_body(FlaggerStatusBody)
    flagger = flaggers.suspend_flagger(session=db(), actor=actor(), ident=ident, reason=body.reason)
    return jsonify(flaggers.flagger_json(flagger))


@api_route(
    bp,
    "/trusted-flaggers/<ident>/reinstate",
    methods=["POST"],
    scopes=MODERATOR,
    body=FlaggerStatusBody,
    summary="Reinstate a suspended trusted flagger (admin)",
    tags=TAGS,
)
def reinstate_trusted_flagger(ident: str):
    staff_user(ADMINS, what="change the trusted-flagger register (admin)")
    body = json_body(FlaggerStatusBody)
    flagger = flaggers.reinstate_flagger(
        session=db(), actor=actor(), ident=ident, reason=body.reason
    )
    return jsonify(flaggers.flagger_json(flagger))
