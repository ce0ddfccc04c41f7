"""API for platforms: the pre-upload check, know-your-uploader, certifications and the signing key."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flask import g, jsonify, request
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import col, select

from hostguard.accounts.upload_tokens import mint_upload_token
from hostguard.db import READ_ONLY, is_postgres
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput, NotFound, TooLarge
from hostguard.platform.models import Uploader
from hostguard.platform.service import get_or_create_uploader, get_or_create_uploader_and_repo
from hostguard.platform.tokens import DEFAULT_MAX_AGE, make_portal_token, portal_url
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.certifications import REPO_WIDE, certify
from hostguard.uploads.check import CheckRequest, Text, UploaderIn, decode_images
from hostguard.uploads.models import Certification, UploadCheck
from hostguard.uploads.receipts import key_id, model_card_metadata, public_key_b64
from hostguard.uploads.sandbox import sandbox_answer, sandbox_in_force
from hostguard.web.access import (
    MalformedRequest,
    actor,
    api_route,
    db,
    json_body,
    parse_json,
    runtime,
    token_covers,
    validation_message,
)
from hostguard.web.api import bp
from hostguard.workflows.decision_events import check_status
from hostguard.workflows.upload_check import hash_sample_images, match_sample_images, run_check

OPERATOR = {"operator"}


def find_uploader(platform_id: str) -> Uploader:
    uploader = db().exec(select(Uploader).where(Uploader.platform_id == platform_id)).first()
    if uploader is None:
        raise NotFound(f"no uploader with id {platform_id[:200]!r}", code="uploader_not_found")
    return uploader


def uploader_on_first_sight(platform_id: str) -> Uploader:
    """The uploader, created as the upload check creates one if no check has seen them yet.

    A platform may send an uploader to KYU before their first upload; the id is held to what
    the check accepts (1 to 200 characters, no control characters)."""
    try:
        UploaderIn(id=platform_id)
    except ValidationError as exc:
        raise InvalidInput(f"uploader id: {validation_message(exc)}") from exc
    return get_or_create_uploader(db(), platform_id=platform_id)


def _check_from_multipart() -> tuple[CheckRequest, list[tuple[str, bytes]]]:
    raw = request.form.get("check")
    if raw is None:
        raise MalformedRequest("a multipart check needs a 'check' part holding the JSON body")
    data = parse_json(raw, what="the 'check' part")
    try:
        body = CheckRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from exc
    limit = runtime().settings.max_image_bytes
    images = []
    for storage in [*request.files.getlist("sample_images"), *request.files.getlist("samples")]:
        content = storage.read(limit + 1)
        if len(content) > limit:
            raise TooLarge(f"sample image {storage.filename!r} is larger than {limit} bytes")
        images.append((storage.filename or "image", content))
    return body, images + decode_images(body.sample_images, max_image_bytes=limit)


@api_route(
    bp,
    "/uploads/check",
    methods=["POST"],
    scopes=OPERATOR,
    body=CheckRequest,
    multipart={
        "check": {"type": "string", "description": "the JSON body as a string", "required": True},
        "sample_images": "image or video files (repeat); `samples` is the same field",
    },
    rules="the multipart `check` part is a string holding the JSON body",
    summary="Ask whether an upload may go ahead: allow, hold or block, with reasons and steps",
    responses={
        200: "the decision: check_id, decision, reasons, required_steps, matches (each: path, "
        "kind (image or video), list, algorithm, distance, threshold, category, list_action), "
        "watermark, policy"
    },
    tags=["uploads"],
    sandbox=True,
    upload_token=True,
)
def upload_check():
    if request.mimetype == "multipart/form-data":
        body, images = _check_from_multipart()
    else:
        body = json_body(CheckRequest)
        images = decode_images(
            body.sample_images, max_image_bytes=runtime().settings.max_image_bytes
        )
    token_covers(uploader_id=body.uploader.id, repo_id=body.repo.id, repo_type=body.repo.type)
    key = g.get("api_key")
    if key is not None and key.sandbox:  # test ids and images; nothing stored, nothing follows
        sandbox = sandbox_in_force(runtime().settings.sandbox_policy_file)
        return jsonify(sandbox_answer(body, images, sandbox=sandbox))
    hashed = hash_sample_images(runtime=runtime(), images=images)  # before the transaction begins
    scans = _match_before_writing(hashed)
    answer = run_check(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        request=body,
        images=images,
        source=request.headers.get("X-Hostguard-Source", "api")[:32],
        policy=runtime().policy,
        hashed=hashed,
        scans=scans,
    )
    return jsonify(answer)


def _match_before_writing(hashed):
    """Match the hashed images in a transaction of their own that only reads: on SQLite it
    takes no write lock, so the check's write transaction (run_check) holds it for its own
    writes only, not for the matching too."""
    if not hashed:
        return None
    session = db()
    if not is_postgres(session.get_bind()):
        session.connection(execution_options={READ_ONLY: True})
    scans = match_sample_images(session=session, hashed=hashed, policy=runtime().policy)
    session.commit()
    return scans


@api_route(
    bp,
    "/uploads/checks/<check_id>",
    scopes=OPERATOR,
    summary="Read a check's current decision (it changes when the uploader finishes a step or "
    "a retroactive match hits): the answer, revision, repo and event sequence number",
    responses={
        200: "the check's current answer: check_id, decision, reasons, required_steps, matches, "
        "watermark, policy, repo, revision, visibility, sequence (the last decision event's)",
        404: "no check with this id (check_not_found)",
    },
    tags=["uploads"],
    upload_token=True,
)
def read_check(check_id: str):
    check = db().exec(select(UploadCheck).where(UploadCheck.check_id == check_id[:36])).first()
    if check is None:
        raise NotFound(f"no check with id {check_id[:36]!r}", code="check_not_found")
    status = check_status(db(), check)
    if g.get("upload_token") is not None:
        uploader = db().get(Uploader, check.uploader_pk) if check.uploader_pk else None
        repo = status.get("repo") or {}
        token_covers(
            uploader_id=uploader.platform_id if uploader else "",
            repo_id=repo.get("id", ""),
            repo_type=repo.get("type"),
        )
    return jsonify(status)


@api_route(
    bp,
    "/uploaders/<uploader_id>/kyu",
    methods=["POST"],
    scopes=OPERATOR,
    multipart={
        "legal_name": {"type": "string", "required": True},
        "address": {"type": "string", "required": True},
        "country": {"type": "string", "description": "ISO 3166-1 alpha-2", "required": True},
        "date_of_birth": {"type": "string", "format": "date", "required": True},
        "id_document": {
            "type": "string",
            "format": "binary",
            "description": "JPEG, PNG or PDF file",
            "required": True,
        },
    },
    rules="the ID document must be a JPEG, PNG or PDF file within the policy's size",
    summary="Submit an uploader's identity details and ID document for review",
    responses={201: "{kyu_id, status: pending_review}"},
    tags=["uploads"],
)
def submit_kyu(uploader_id: str):
    if request.mimetype != "multipart/form-data":
        raise MalformedRequest("send multipart/form-data with the fields and the id_document file")
    uploader = uploader_on_first_sight(uploader_id)
    document = request.files.get("id_document")
    if document is None:
        raise InvalidInput("the id_document file is missing", code="document_missing")
    policy = runtime().policy
    data = document.read(policy.kyu.max_document_bytes + 1)
    form = request.form
    submission = kyu_service.submit_kyu(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        uploader=uploader,
        policy=policy,
        legal_name=form.get("legal_name", ""),
        address=form.get("address", ""),
        country=form.get("country", ""),
        date_of_birth=form.get("date_of_birth", ""),
        document=data,
    )
    return jsonify({"kyu_id": submission.id, "status": submission.status}), 201


@api_route(
    bp,
    "/uploaders/<uploader_id>",
    scopes=OPERATOR,
    summary="An uploader's KYU status, certifications and strikes (no personal data)",
    responses={200: "{id, username, status, strikes, kyu, certifications}"},
    tags=["uploads"],
)
def get_uploader(uploader_id: str):
    uploader = find_uploader(uploader_id)
    session = db()
    certs = session.exec(
        select(Certification)
        .where(Certification.uploader_pk == uploader.id)
        .order_by(col(Certification.id).desc())
        .limit(100)
    ).all()
    return jsonify(
        {
            "id": uploader.platform_id,
            "username": uploader.username,
            "status": uploader.status,
            "strikes": uploader.strikes,
            "kyu": kyu_service.public_status(kyu_service.latest_submission(session, uploader)),
            "certifications": [
                {
                    "certification_id": c.certification_id,
                    "repo_id": c.receipt["receipt"]["repo"],
                    "revision": c.revision,
                    "signed_at": c.signed_at.isoformat(),
                    "statements": [{"id": s["id"], "version": s["version"]} for s in c.statements],
                }
                for c in certs
            ],
        }
    )


class StatementIn(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    version: int
    accepted: bool
    fields: dict = Field(default_factory=dict)


class CertificationIn(BaseModel):
    uploader_id: Text = Field(min_length=1, max_length=200)
    repo_id: Text = Field(min_length=3, max_length=200)
    repo_type: Literal["model", "dataset", "space"] = "model"
    # omitted or `*`: the repo, before or regardless of any push (`certifications.scope: repo`)
    revision: Text = Field(default="*", min_length=1, max_length=100)
    statements: list[StatementIn] = Field(min_length=1, max_length=50)
    # 2 to 200 characters once trimmed: certify() refuses a shorter one as signed_name_required
    signed_name: Text = Field(max_length=200, json_schema_extra={"minLength": 2})


@api_route(
    bp,
    "/certifications",
    methods=["POST"],
    scopes=OPERATOR,
    body=CertificationIn,
    rules="each statement must be one the policy asks for, at its current version",
    summary="Record an uploader's certification of statements for a revision (or, under "
    "`certifications.scope: repo`, the whole repo: revision omitted or `*`); returns a signed receipt",
    responses={201: "{certification_id, receipt, model_card_yaml}"},
    tags=["uploads"],
    upload_token=True,
)
def post_certification():
    body = json_body(CertificationIn)
    token_covers(uploader_id=body.uploader_id, repo_id=body.repo_id, repo_type=body.repo_type)
    session = db()
    # a repo may be certified before its first check: both are created as the check does
    uploader, repo = get_or_create_uploader_and_repo(
        session, platform_id=body.uploader_id, repo_id=body.repo_id, repo_type=body.repo_type
    )
    cert = certify(
        session=session,
        runtime=runtime(),
        actor=actor(),
        uploader=uploader,
        repo=repo,
        revision=body.revision,
        statements=[s.model_dump() for s in body.statements],
        signed_name=body.signed_name,
        policy=runtime().policy,
        via="api",
    )
    return jsonify(
        {
            "certification_id": cert.certification_id,
            "receipt": cert.receipt,
            "model_card_yaml": model_card_metadata(cert.receipt),
        }
    ), 201


@api_route(
    bp,
    "/keys",
    scopes=None,
    summary="Public keys that sign certification receipts",
    responses={
        200: "{keys: [{key_id, algorithm, public_key, status}]}: the current key, then retired "
        "ones (their receipts still verify); the same keys as JWKs at /.well-known/jwks.json"
    },
    tags=["uploads"],
)
def public_keys():
    keys = runtime().keys
    listed = [(keys.public_key, "current"), *((k, "retired") for k in keys.retired_public_keys)]
    return jsonify(
        {
            "keys": [
                {
                    "key_id": key_id(key),
                    "algorithm": "Ed25519",
                    "public_key": public_key_b64(key),
                    "use": "certification receipts",
                    "status": status,
                }
                for key, status in listed
            ]
        }
    )


class UploadTokenIn(BaseModel):
    uploader_id: Text = Field(min_length=1, max_length=200)
    repo_id: Text = Field(min_length=3, max_length=200)
    repo_type: Literal["model", "dataset", "space"] = "model"
    # omitted: the upload_token_ttl setting; at most upload_token_max_ttl (else 422 invalid_ttl)
    ttl_seconds: int | None = Field(default=None, ge=60, le=31_536_000)


@api_route(
    bp,
    "/upload-tokens",
    methods=["POST"],
    scopes=OPERATOR,
    body=UploadTokenIn,
    summary="Mint a short-lived upload token for one uploader and one repo: it may only run "
    "upload checks, read their checks and certify for them, so the uploader's tools never hold "
    "an operator key",
    responses={
        201: "{token (shown once), token_id, uploader_id, repo_id, repo_type, expires_at}",
        422: "the repo id or ttl_seconds is not acceptable (invalid_ttl above upload_token_max_ttl)",
    },
    tags=["uploads"],
)
def post_upload_token():
    body = json_body(UploadTokenIn)
    settings = runtime().settings
    token, plaintext = mint_upload_token(
        session=db(),
        actor=actor(),
        uploader_id=body.uploader_id,
        repo_id=body.repo_id,
        repo_type=body.repo_type,
        ttl_seconds=body.ttl_seconds,
        default_ttl=settings.upload_token_ttl,
        max_ttl=settings.upload_token_max_ttl,
    )
    return jsonify(
        {
            "token": plaintext,
            "token_id": token.prefix,
            "uploader_id": token.uploader_id,
            "repo_id": token.repo_id,
            "repo_type": token.repo_type,
            "expires_at": token.expires_at.isoformat(),
        }
    ), 201


class PortalLinkIn(BaseModel):
    uploader_id: Text = Field(min_length=1, max_length=200)
    repo_id: Text = Field(min_length=3, max_length=200)
    repo_type: Literal["model", "dataset", "space"] = "model"
    visibility: Literal["public", "gated", "private"] = "public"
    # certification: the statements for the repo (before its first push); kyu: identity
    purpose: Literal["certification", "kyu"] = "certification"


@api_route(
    bp,
    "/portal-links",
    methods=["POST"],
    scopes=OPERATOR,
    body=PortalLinkIn,
    summary="Issue a portal link for an uploader and a repo with no revision: certify the repo "
    "before its first push (under `certifications.scope: repo`) or submit KYU before any upload",
    responses={
        200: "{url, purpose, expires_at}: send the uploader to url",
        422: "a certification link needs `certifications.scope: repo` (revision_required)",
    },
    tags=["uploads"],
)
def post_portal_link():
    body = json_body(PortalLinkIn)
    policy = runtime().policy
    if body.purpose == "certification" and policy.certifications.scope != "repo":
        raise InvalidInput(
            "each revision is certified on its own under this policy "
            "(certifications.scope: revision): the check's answer carries the link",
            code="revision_required",
        )
    uploader, repo = get_or_create_uploader_and_repo(
        db(), platform_id=body.uploader_id, repo_id=body.repo_id, repo_type=body.repo_type
    )
    claims = {"repo": repo.repo_id, "rt": repo.repo_type, "rev": REPO_WIDE, "vis": body.visibility}
    token = make_portal_token(runtime(), uploader.platform_id, purpose=body.purpose, extra=claims)
    page = "certifications" if body.purpose == "certification" else "kyu"
    return jsonify(
        {
            "url": portal_url(runtime(), page, token),
            "purpose": body.purpose,
            "expires_at": (utcnow() + timedelta(seconds=DEFAULT_MAX_AGE)).isoformat(),
        }
    )
