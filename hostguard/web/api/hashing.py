"""Routes of the api surface for hashing: scan images, import into and see hash lists (never their hashes)."""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, ValidationError

from hostguard.errors import InvalidInput, TooLarge
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.listfiles import ListFormat
from hostguard.hashing.models import ListAction
from hostguard.hashing.service import ScanResult, import_list, list_lists, scan_images, suppress
from hostguard.web.access import MalformedRequest, actor, api_route, db, runtime, validation_message
from hostguard.web.api import bp

OPERATOR = {"operator"}
MAX_IMAGES = 100


@api_route(
    bp,
    "/scan",
    methods=["POST"],
    scopes=OPERATOR,
    multipart={
        "images": {
            "type": "string",
            "format": "binary",
            "description": "image files (repeat the field for several); one that does not "
            "decode is reported in its result",
            "required": True,
        }
    },
    summary="Hash images and match them against every enabled hash list",
    responses={
        200: '{"results": [{path, matched, matches: [{list, algorithm, distance, '
        "threshold, entry, low_quality}], error, low_quality}]}"
    },
    tags=["hashing"],
)
def scan():
    files = [f for f in request.files.getlist("images") if f]
    if not files:
        files = [f for name in request.files for f in request.files.getlist(name) if f]
    if not files:
        raise InvalidInput("send the images as multipart/form-data file fields named 'images'")
    if len(files) > MAX_IMAGES:
        raise TooLarge(f"at most {MAX_IMAGES} images per request")
    limit = runtime().settings.max_image_bytes
    images: list[tuple[str, bytes | None]] = []
    for number, upload in enumerate(files, start=1):
        data = upload.stream.read(limit + 1)
        name = (upload.filename or f"image-{number}")[:500]
        if len(data) > limit:
            data = b""  # reported per file below rather than failing the batch
            images.append((name, None))
        else:
            images.append((name, data))
    readable = [(n, d) for n, d in images if d is not None]
    scans = iter(
        scan_images(session=db(), runtime=runtime(), images=readable, policy=runtime().policy)
    )
    results: list[ScanResult] = []
    for name, content in images:
        if content is None:
            results.append(
                {
                    "path": name,
                    "matched": False,
                    "matches": [],
                    "error": f"file too large: the limit is {limit} bytes",
                    "low_quality": False,
                }
            )
        else:
            results.append(next(scans).to_json())
    return jsonify({"results": results})


@api_route(
    bp,
    "/hashlists",
    methods=["GET"],
    scopes=OPERATOR,
    summary="Hash lists with their settings and entry counts (never the hashes)",
    responses={
        200: '{"lists": [{name, algorithm, threshold, action, category, source, '
        "entries, version, enabled, internal, updated_at}]}"
    },
    tags=["hashing"],
)
def hashlists():
    return jsonify({"lists": list_lists(session=db())})


class HashListImportOptions(BaseModel):
    """The options of `hostguard hashlist import`, as form fields or query parameters."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal[tuple(ALGORITHMS)] | None = None  # type: ignore[valid-type]
    threshold: int | None = None
    category: str | None = None
    action: ListAction | None = None
    source: str | None = None
    format: ListFormat | None = None
    replace: bool = False
    strict: bool = False
    allow_empty: bool = False


def _import_request() -> tuple[bytes, HashListImportOptions]:
    """The list file and the options: a multipart `file` part with form fields, or the raw body
    with query parameters."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise MalformedRequest("send the list as a multipart file part named 'file'")
        data = upload.stream.read()
        fields = request.form.to_dict()
    else:
        if request.mimetype == "application/x-www-form-urlencoded":
            raise MalformedRequest(
                "send the list as the request body (text/plain) or as "
                "multipart/form-data with a 'file' part"
            )
        data = request.get_data(cache=False)
        fields = {}
    fields.update(request.args.to_dict())
    try:
        options = HashListImportOptions.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from exc
    return data, options


@api_route(
    bp,
    "/hashlists/<name>/import",
    methods=["POST"],
    scopes=OPERATOR,
    multipart={
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the list file (text, CSV, JSON lines or ThreatExchange); or send it "
            "as the raw request body with the options as query parameters",
            "required": True,
        },
        "algorithm": "hash algorithm (needed for a new list)",
        "threshold": "largest matching distance",
        "category": "category of the content",
        "action": "block | review",
        "source": "where the list comes from",
        "format": "text | csv | jsonl | threatexchange (default: detected)",
        "replace": "true: make the list equal to the file",
        "strict": "true: refuse the whole file if any line is invalid",
        "allow_empty": "true: with replace, accept a file with no valid line",
    },
    rules="the list file must parse in the format given (text, CSV, JSON lines, "
    "ThreatExchange); a new list needs an algorithm",
    summary="Import hashes into a hash list in one transaction (as `hostguard hashlist import`)",
    responses={
        200: "{list, algorithm, format, valid, invalid, duplicates, errors: [{line, reason}], "
        "imported, created, added, removed, unchanged, entries, version}",
        422: "refused (strict with invalid lines, replace with no valid line, bad options); "
        "error.details.summary has the counts",
    },
    tags=["hashing"],
)
def import_hashlist(name: str):
    data, options = _import_request()
    summary = import_list(session=db(), actor=actor(), name=name, data=data, **options.model_dump())
    return jsonify(summary)


class SuppressRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hash: str
    reason: str


@api_route(
    bp,
    "/hashlists/<name>/suppressions",
    methods=["POST"],
    scopes=OPERATOR,
    body=SuppressRequest,
    rules="the hash must be of the list's algorithm (its length and digits)",
    summary="Allow-list a hash that matched wrongly: the list's entries it matches stop acting",
    responses={
        200: "{list, suppressed, entries}",
        404: "no such list",
        422: "bad hash or no reason",
    },
    tags=["hashing"],
)
def suppress_hash(name: str):
    try:
        body = SuppressRequest.model_validate(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from exc
    return jsonify(
        suppress(session=db(), actor=actor(), name=name, hash=body.hash, reason=body.reason)
    )
