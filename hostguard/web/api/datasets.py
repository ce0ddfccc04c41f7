"""Routes of the api surface for dataset scans: request one, follow its progress and result."""

from __future__ import annotations

import re

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from hostguard.datasets import service as scans
from hostguard.datasets.sources import HUB_PREFIX, HUB_REVISION, HUB_SOURCE
from hostguard.errors import InvalidInput
from hostguard.platform.service import REPO_ID_PATTERN
from hostguard.web.access import actor, api_route, db, json_body
from hostguard.web.api import bp
from hostguard.workflows.dataset_scan import request_scan

OPERATOR = {"operator"}
TAGS = ["datasets"]
_HUB_SOURCE = re.compile(HUB_SOURCE)


class DatasetScanBody(BaseModel):
    """A Hub dataset repository (`repo`, optionally `revision`), or `sources` as the CLI takes
    them, limited to Hub datasets (`hf://datasets/OWNER/NAME[@REVISION]`); one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # the view refuses a body naming neither (no_sources)
            "anyOf": [
                {"required": ["repo"], "properties": {"repo": {"type": "string"}}},
                {
                    "required": ["sources"],
                    "properties": {"sources": {"type": "array", "minItems": 1}},
                },
            ]
        },
    )
    # the patterns are the view's check (bad_source, with its message), stated in the document
    repo: str | None = Field(
        default=None, max_length=200, json_schema_extra={"pattern": REPO_ID_PATTERN}
    )
    revision: str | None = Field(
        default=None, max_length=100, json_schema_extra={"pattern": HUB_REVISION}
    )
    sources: list[str] | None = Field(
        default=None,
        max_length=100,
        json_schema_extra={"items": {"type": "string", "pattern": HUB_SOURCE}},
    )


@api_route(
    bp,
    "/datasets/scans",
    methods=["POST"],
    scopes=OPERATOR,
    body=DatasetScanBody,
    summary="Scan a Hub dataset repository against every enabled hash list (run by the worker)",
    responses={202: '{"id", "status": "queued", "progress": {...}, "result": null, ...}'},
    tags=TAGS,
)
def post_dataset_scan():
    body = json_body(DatasetScanBody)
    sources = list(body.sources or [])
    if body.repo is not None:
        sources.append(f"{HUB_PREFIX}{body.repo}" + (f"@{body.revision}" if body.revision else ""))
    if not sources:
        raise InvalidInput("name a dataset: 'repo' (OWNER/NAME) or 'sources'", code="no_sources")
    if any(not s.startswith(HUB_PREFIX) for s in sources):
        raise InvalidInput(
            "the API scans Hub datasets (hf://datasets/OWNER/NAME[@REVISION]); scan local files "
            "with `hostguard dataset scan`",
            code="bad_source",
        )
    for source in sources:
        if not _HUB_SOURCE.fullmatch(source):
            raise InvalidInput(
                f"'{source[:300]}' is not hf://datasets/OWNER/NAME[@REVISION]: the owner and "
                "name are letters, digits, '.', '_' and '-'; the revision letters, digits, "
                "'.', '_', '-' and '/'",
                code="bad_source",
            )
    scan = request_scan(session=db(), actor=actor(), sources=sources)
    return jsonify(scans.describe(scan)), 202


@api_route(
    bp,
    "/datasets/scans/<scan_id>",
    methods=["GET"],
    scopes=OPERATOR,
    summary="A dataset scan's status, progress and, once done, its result and attestation",
    responses={200: '{"id", "status", "progress": {shards_done, shards_total, images}, "result"}'},
    tags=TAGS,
)
def get_dataset_scan(scan_id: str):
    return jsonify(scans.describe(scans.get_scan(session=db(), scan_id=scan_id)))
