"""The pre-upload check: allow, hold or block an upload from the policy, KYU, certifications and matches.

Retries are safe: the same (uploader, repo, revision, visibility, content) is one check. The
uploader and the visibility are part of what makes two checks "the same", because the policy
asks more of a public upload than of a private one: a revision checked as private and then
asked about as public is a new check, evaluated for public. Its images are scanned only the
first time; asking again re-reads the uploader's KYU and certification state, so an uploader
who finished the steps gets `allow`, and an unchanged situation gets exactly the answer given
before (same check id, same links). What a moderator must look at (any hash-list match; a
watermark hold) opens a case once per check.

A match does the stricter of what its list and the policy ask (`match_action`): a list's
`block` blocks whatever its category; a `review` list asks only for a case, so the policy's
rule for the match's category decides whether the upload is also held or blocked. A policy
can make a list stricter, never more lenient: CSAM and NCII matches block on any list.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db import advisory_xact_lock
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput, TooLarge, Unavailable
from hostguard.platform.models import ModelRepo, Uploader, UploaderStatus
from hostguard.platform.service import get_or_create_uploader_and_repo
from hostguard.platform.tokens import make_portal_token, portal_url
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.certifications import (
    certified_statements,
    declared_watermark_method,
    owed_statements,
)
from hostguard.uploads.models import Decision, KyuStatus, UploadCheck
from hostguard.uploads.policy import HashAction, Policy, policy_for
from hostguard.uploads.watermark import CHECKABLE_METHODS, Evidence, check_watermark

MAX_FILES = 20_000
MAX_IMAGES = 16
ANSWER_REUSE = timedelta(hours=24)  # links in a repeated answer stay fresh enough to use


class UploaderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=200)
    username: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class RepoIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=3, max_length=200)
    type: Literal["model", "dataset", "space"] = "model"
    revision: str = Field(min_length=1, max_length=100)
    visibility: Literal["public", "gated", "private"] = "public"


class FileIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    path: str = Field(min_length=1, max_length=1000)
    size: int = Field(ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class SampleImageIn(BaseModel):
    path: str = Field(min_length=1, max_length=1000)
    content_base64: str


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uploader: UploaderIn
    repo: RepoIn
    files: list[FileIn] = Field(default_factory=list, max_length=MAX_FILES)
    sample_images: list[SampleImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)


# What each list action (hostguard.hashing.models.ListAction) asks of a match, as a policy action.
LIST_ACTIONS = {"block": HashAction.BLOCK, "review": HashAction.RECORD}
SEVERITY = {HashAction.RECORD: 0, HashAction.HOLD: 1, HashAction.BLOCK: 2}


def match_action(match: dict, policy: Policy) -> HashAction:
    """What one stored match does: the stricter of its list's action and the category's rule.

    A list action this module does not know blocks (fail closed). Matches stored before they
    carried `list_action` are decided by the policy alone, as they were when first answered.
    """
    action = policy.hash_action(match.get("category"))
    list_action = match.get("list_action")
    if list_action is not None:
        action = max(
            action, LIST_ACTIONS.get(list_action, HashAction.BLOCK), key=SEVERITY.__getitem__
        )
    return action


def reason(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _lock_id(key: str) -> int:
    """A PostgreSQL advisory lock id (signed 64-bit) for an idempotency key."""
    return int(key[:16], 16) - (1 << 63)


def content_key(
    repo: ModelRepo,
    revision: str,
    files: list[FileIn],
    images: list[tuple[str, bytes]],
    *,
    uploader_id: str,
    visibility: str,
) -> str:
    """The idempotency key: who uploads what, where, and how visible it will be."""
    h = hashlib.sha256()
    h.update(f"{repo.repo_type}/{repo.repo_id}\0{revision}\0{visibility}\0{uploader_id}\0".encode())
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\0{f.size}\0{(f.sha256 or '').lower()}\n".encode())
    for path, data in sorted(images):
        h.update(f"img\0{path}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()


def hash_sample_images(*, runtime, images: list[tuple[str, bytes]]):
    """Hash the sample images (CPU only, no database); matching happens in scan_sample_images."""
    if not images:
        return []
    try:
        from hostguard.hashing.service import hash_images
    except ImportError as exc:  # fail closed: unscanned images are never allowed through
        raise Unavailable("image matching is not available on this server") from exc
    return hash_images(runtime=runtime, images=images)


def scan_sample_images(
    *,
    session: Session,
    runtime,
    repo: ModelRepo,
    revision: str,
    images: list[tuple[str, bytes]],
    ref: str,
    policy: Policy,
    hashed=None,
) -> tuple[list[dict], dict[str, dict]]:
    """Match the sample images against the hash lists (the hashing domain's service).

    Returns (matches, file digests). Matches are dicts {path, list, algorithm, distance,
    threshold, category, list_action} (or {path, error}): no image bytes and no list entry;
    they are stored and answered. File digests map a matched image's path to the digests of
    the uploader's own file (md5, sha256 and its PDQ hash), which a report to a hotline or
    NCMEC needs; they go into the case evidence only, never into the stored check or the
    answer, because a PDQ hash that matched is close to a list entry's. The hashes of images
    the policy blocks (`match_action`) are not kept for retroactive matching. `hashed` comes
    from hash_sample_images when the caller hashed before opening its transaction. The only
    place this module talks to hostguard.hashing.
    """
    if not images:
        return [], {}
    from hostguard.hashing.service import match_hashes, remember_sample_hashes

    if hashed is None:
        hashed = hash_sample_images(runtime=runtime, images=images)
    scans = match_hashes(session=session, hashed=hashed)
    matches: list[dict] = []
    digests: dict[str, dict] = {}
    for (path, data), scan in zip(images, scans, strict=True):
        found = getattr(scan, "matches", None) or []
        if found:
            digests[path] = _file_digests(data, scan)
        for match in found:
            matches.append(
                {
                    "path": path,
                    "list": match.get("list"),
                    "algorithm": match.get("algorithm"),
                    "distance": match.get("distance"),
                    "threshold": match.get("threshold"),
                    "category": match.get("category") or "default",
                    # the list's own action; missing would mean "policy only", so fail closed
                    "list_action": match.get("action") or "block",
                }
            )
        error = getattr(scan, "error", None)
        if error:
            matches.append({"path": path, "error": str(error)[:200]})
    refused = {
        m["path"] for m in matches if "list" in m and match_action(m, policy) == HashAction.BLOCK
    }
    remember_sample_hashes(
        session=session, repo=repo, revision=revision, scans=scans, ref=ref, refused=refused
    )
    return matches, digests


def _file_digests(data: bytes, scan) -> dict:
    """Digests of one uploaded file, as evidence: they describe the upload, not a list."""
    hashes = getattr(scan, "hashes", None) or {}  # the hasher's primary hashes, digests included
    return {
        "md5": hashes.get("md5") or hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashes.get("sha256") or hashlib.sha256(data).hexdigest(),
        "pdq": hashes.get("pdq"),
        "pdq_quality": getattr(scan, "quality", None),
        "size": len(data),
    }


def _open_match_case(
    *,
    session: Session,
    repo: ModelRepo,
    check: UploadCheck,
    matches: list[dict],
    actor: str,
    policy: Policy,
    file_digests: dict[str, dict] | None = None,
) -> int:
    from hostguard.cases.intake import open_case
    from hostguard.cases.models import CaseSource
    from hostguard.cases.policy import CATEGORY_ALIASES

    worst = max(
        (m for m in matches if "category" in m), key=lambda m: SEVERITY[match_action(m, policy)]
    )
    category = CATEGORY_ALIASES.get(worst["category"], worst["category"])
    case = open_case(
        session=session,
        repo=repo,
        source=CaseSource.HASH_MATCH,
        category=category,
        actor=actor,
        kind="hash_match",
        ref=f"check:{check.check_id}",
        details={
            "revision": check.revision,
            "matches": matches,
            "policy": policy.ref,
            "action": str(match_action(worst, policy)),
            # the matched uploads' own digests, for a hotline/NCMEC report;
            # under one key, which only the legal report package shows
            "file_digests": file_digests or {},
        },
        automated=True,
        summary=f"Sample images of {repo.repo_id}@{check.revision[:12]} "
        f"match hash lists ({worst['category']})",
    )
    return case.id


REVIEW_REASONS = ("watermark_not_found", "watermark_inconclusive")  # holds a moderator must look at


def _has_evidence(session: Session, *, check: UploadCheck, kind: str) -> bool:
    """Whether a case of the check's repo already holds this kind of evidence from the check."""
    from hostguard.cases.models import Case, CaseEvidence

    return (
        session.exec(
            select(CaseEvidence.id).where(
                CaseEvidence.case_id.in_(select(Case.id).where(Case.repo_pk == check.repo_pk)),
                CaseEvidence.ref == f"check:{check.check_id}",
                CaseEvidence.kind == kind,
            )
        ).first()
        is not None
    )


def _open_review_cases(
    *,
    session: Session,
    repo: ModelRepo,
    check: UploadCheck,
    answer: dict,
    actor: str,
    policy: Policy,
    file_digests: dict[str, dict] | None = None,
) -> int | None:
    """Open (or add to) the repo's case for what a moderator must see; once per check and kind.

    Every hash-list match (whether it blocks, holds or only records, see `match_action`, a
    moderator looks at each), and holds that promise the uploader a review (watermark not
    found or not checkable). The caller holds the check's lock (`run_check`), so concurrent
    retries cannot both open one.
    """
    from hostguard.cases.intake import open_case
    from hostguard.cases.models import CaseSource

    case_id = None
    hits = [m for m in check.matches if "category" in m]
    if (
        hits and check.case_id is None
    ):  # the match case is opened with the first answer, which sets case_id
        case_id = _open_match_case(
            session=session,
            repo=repo,
            check=check,
            matches=check.matches,
            actor=actor,
            policy=policy,
            file_digests=file_digests,
        )
    review = [r["code"] for r in answer["reasons"] if r["code"] in REVIEW_REASONS]
    if review and not _has_evidence(session, check=check, kind="watermark_review"):
        case = open_case(
            session=session,
            repo=repo,
            source=CaseSource.UPLOAD_CHECK,
            category="other",
            actor=actor,
            kind="watermark_review",
            ref=f"check:{check.check_id}",
            details={
                "revision": check.revision,
                "decision": answer["decision"],
                "reasons": review,
                "watermark": check.watermark,
                "policy": policy.ref,
            },
            automated=True,
            summary=f"{repo.repo_id}@{check.revision[:12]}: the declared "
            "watermark needs a moderator's review",
        )
        case_id = case_id or case.id
    return case_id


def _kyu_reasons(
    session: Session, *, actor: str, uploader: Uploader, policy: Policy, visibility: str
) -> list[dict]:
    level = policy.kyu_level_for(visibility)
    submission = kyu_service.latest_submission(session, uploader)
    status = kyu_service.effective_status(submission)
    if kyu_service.meets(level, status):
        return []
    if submission is None:
        kyu_service.ensure_started(session=session, actor=actor, uploader=uploader)
    if status == KyuStatus.PENDING_REVIEW:
        return [reason("kyu_pending", "The uploader's identity details are waiting for review.")]
    if status == KyuStatus.REJECTED:
        return [
            reason(
                "kyu_rejected",
                "The uploader's identity details were not accepted; "
                "the portal shows why and how to send them again.",
            )
        ]
    if status == KyuStatus.EXPIRED:
        return [
            reason(
                "kyu_expired",
                "The uploader's identity verification has expired; they need to verify again.",
            )
        ]
    return [
        reason(
            "kyu_required",
            f"{visibility.capitalize()} uploads need a verified identity (know-your-uploader).",
        )
    ]


def evaluate(
    *,
    session: Session,
    runtime,
    actor: str,
    check: UploadCheck,
    uploader: Uploader,
    repo: ModelRepo,
    policy: Policy,
    images: list[tuple[str, bytes]],
) -> dict:
    """Work out the answer from the stored matches and the uploader's current state."""
    reasons: list[dict] = []
    steps: list[dict] = []
    blocked = False
    if uploader.status == UploaderStatus.SUSPENDED:
        reasons.append(reason("uploader_suspended", "The uploader's account is suspended."))
        blocked = True
    hits = [m for m in check.matches if "category" in m]
    if hits:
        actions = {match_action(m, policy) for m in hits}
        if HashAction.BLOCK in actions:
            blocked = True
        if actions & {HashAction.BLOCK, HashAction.HOLD}:
            reasons.append(
                reason(
                    "hash_match",
                    "A sample image matches a hash list; the upload was "
                    "referred to the moderation team.",
                )
            )
    if any("error" in m for m in check.matches):
        reasons.append(
            reason("image_unreadable", "A sample image could not be read; send PNG, JPEG or WebP.")
        )
    kyu_reasons = _kyu_reasons(
        session, actor=actor, uploader=uploader, policy=policy, visibility=check.visibility
    )
    reasons += kyu_reasons
    token_extra = {
        "repo": repo.repo_id,
        "rt": repo.repo_type,
        "rev": check.revision,
        "vis": check.visibility,
        "c": check.check_id,
    }
    if kyu_reasons and kyu_reasons[0]["code"] != "kyu_pending":
        token = make_portal_token(runtime, uploader.platform_id, purpose="kyu", extra=token_extra)
        steps.append({"type": "kyu", "url": portal_url(runtime, "kyu", token)})
    certified = certified_statements(session, uploader=uploader, repo=repo, revision=check.revision)
    owed = owed_statements(
        session,
        uploader=uploader,
        repo=repo,
        revision=check.revision,
        visibility=check.visibility,
        policy=policy,
        done=certified,
    )
    if owed:
        reasons.append(
            reason(
                "certification_required",
                "The uploader has not yet signed: " + ", ".join(s.title for s in owed) + ".",
            )
        )
        token = make_portal_token(
            runtime, uploader.platform_id, purpose="certification", extra=token_extra
        )
        steps.append(
            {
                "type": "certification",
                "url": portal_url(runtime, "certifications", token),
                "statements": [s.public() for s in owed],
            }
        )
    method = declared_watermark_method(
        session,
        uploader=uploader,
        repo=repo,
        revision=check.revision,
        policy=policy,
        done=certified,
    )
    if method and (check.watermark or {}).get("method") != method:
        evidence = (
            check_watermark(method, images) if method in CHECKABLE_METHODS and images else None
        )
        check.watermark = (
            evidence.to_dict()
            if evidence
            else {
                "method": method,
                "result": Evidence.INCONCLUSIVE,
                "detail": "no sample images"
                if method in CHECKABLE_METHODS
                else f"'{method}' cannot be checked offline",
                "images": [],
            }
        )
    if method and check.watermark:
        result = check.watermark["result"]
        if result == Evidence.NOT_FOUND and policy.watermark.not_found == "hold":
            reasons.append(
                reason(
                    "watermark_not_found",
                    "The declared watermark was not found in the "
                    "sample images; a moderator will review.",
                )
            )
        if result == Evidence.INCONCLUSIVE and policy.watermark.inconclusive == "hold":
            reasons.append(
                reason(
                    "watermark_inconclusive",
                    "The declared watermark could not be checked; a moderator will review.",
                )
            )
    decision = Decision.BLOCK if blocked else (Decision.HOLD if reasons else Decision.ALLOW)
    public_matches = [{k: v for k, v in m.items() if k != "error"} for m in hits]
    return {
        "check_id": check.check_id,
        "decision": str(decision),
        "reasons": reasons,
        "required_steps": steps,
        "matches": public_matches,
        "watermark": check.watermark,
        "policy": policy.ref,
    }


HUB_SOURCE = "huggingface_webhook"  # checks the Hub webhook's job ran (integrations.hf_check)
KYU_REASONS = ("kyu_required", "kyu_pending", "kyu_rejected", "kyu_expired")


def recheck_held_hub_checks(
    session: Session,
    *,
    ref: str,
    uploader: Uploader | None = None,
    repo: ModelRepo | None = None,
    revision: str | None = None,
    reasons: tuple[str, ...] = (),
) -> list[str]:
    """Queue the Hub check again for repositories the webhook held; returns their repo ids.

    The uploader follows the link in the quarantine discussion and finishes a step (certifies
    the revision, or legal verifies their identity); the new check, which lifts the quarantine
    when it answers allow, then needs no new push. A repository's latest held Hub check (of
    `revision`, when given) is asked again; a pass lifts the quarantine only while that
    revision is what the repository serves (the Hub integration checks the head), so passing
    a revision the repository has since moved past never lifts one its newer revision needs.
    `uploader`, `repo`, `revision` narrow which checks count; `reasons`, when given, must include one of the
    held check's reason codes (nothing else changed, so the answer could not change). `ref`
    names what changed (a certification, a KYU submission). A re-check of the same revision
    still queued reads the state when it runs, so it answers for this change too: queuing a
    second one would only check the repository again between its release and the restore.
    """
    from hostguard.jobs.models import Job, JobStatus
    from hostguard.jobs.service import enqueue

    if repo is not None:
        repo_pks = [repo.id]
    elif uploader is not None:
        repo_pks = sorted(
            set(
                session.exec(
                    select(UploadCheck.repo_pk).where(
                        UploadCheck.uploader_pk == uploader.id, UploadCheck.source == HUB_SOURCE
                    )
                ).all()
            )
        )
    else:
        raise ValueError("name the uploader or the repository whose held checks to ask again")
    queued = []
    for repo_pk in repo_pks:
        held = select(UploadCheck).where(
            UploadCheck.repo_pk == repo_pk,
            UploadCheck.source == HUB_SOURCE,
            UploadCheck.decision != Decision.ALLOW,
        )
        if revision is not None:
            held = held.where(UploadCheck.revision == revision)
        if uploader is not None:
            held = held.where(UploadCheck.uploader_pk == uploader.id)
        latest = session.exec(held.order_by(UploadCheck.id.desc())).first()
        if latest is None:
            continue
        if reasons and not any(r.get("code") in reasons for r in latest.reasons or []):
            continue
        repo_id = repo.repo_id if repo is not None else session.get(ModelRepo, repo_pk).repo_id
        prefix = (
            "hf-recheck:"
            + hashlib.sha256(f"{repo_id}\0{latest.revision}".encode()).hexdigest()[:32]
            + ":"
        )
        waiting = session.exec(
            select(Job.id).where(
                col(Job.dedupe_key).startswith(prefix), Job.status == JobStatus.QUEUED
            )
        ).first()
        if waiting is None:
            enqueue(
                session,
                "integrations.hf_check",
                {"repo_id": repo_id, "revision": latest.revision},
                dedupe_key=f"{prefix}{ref}"[:200],
            )
        queued.append(repo_id)
    return queued


def _same_situation(old: dict, new: dict) -> bool:
    def shape(a: dict):
        return (
            a.get("decision"),
            a.get("reasons"),
            [(s["type"], s.get("statements")) for s in a.get("required_steps", [])],
            a.get("matches"),
            a.get("watermark"),
            a.get("policy"),
        )

    return bool(old) and shape(old) == shape(new)


def decode_images(
    sample_images: list[SampleImageIn], *, max_image_bytes: int
) -> list[tuple[str, bytes]]:
    import base64
    import binascii

    images = []
    for item in sample_images:
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                f"sample image {item.path[:200]} is not valid base64", code="invalid_image"
            ) from exc
        if len(data) > max_image_bytes:
            raise TooLarge(f"sample image {item.path[:200]} is larger than {max_image_bytes} bytes")
        images.append((item.path, data))
    return images


_CHECK_BY_KEY = (
    select(UploadCheck).where(UploadCheck.idempotency_key == bindparam("key")).with_for_update()
)  # every check (docs/DEVELOPING.md, "Statements on hot paths")


def run_check(
    *,
    session: Session,
    runtime,
    actor: str,
    request: CheckRequest,
    images: list[tuple[str, bytes]],
    source: str = "api",
    policy: Policy | None = None,
    hashed=None,
) -> dict:
    """Answer the pre-upload check for one repository revision (see the module docstring).

    `hashed`: the images already hashed by hash_sample_images before the caller's transaction
    began (the web view does this); without it the images are hashed here.
    """
    if len(images) > MAX_IMAGES:
        raise InvalidInput(f"send at most {MAX_IMAGES} sample images", code="too_many_images")
    policy = policy or policy_for(runtime)
    uploader, repo = get_or_create_uploader_and_repo(
        session,
        platform_id=request.uploader.id,
        username=request.uploader.username,
        email=request.uploader.email,
        keys=runtime.keys if request.uploader.email else None,
        repo_id=request.repo.id,
        repo_type=request.repo.type,
    )
    key = content_key(
        repo,
        request.repo.revision,
        request.files,
        images,
        uploader_id=uploader.platform_id,
        visibility=request.repo.visibility,
    )
    # Concurrent retries of one check take turns, so what it opens is opened once and the one
    # that comes second answers from the first: on PostgreSQL they queue on a lock named by
    # the key (a check not yet stored has no row to lock); SQLite runs one writer at a time.
    advisory_xact_lock(session, _lock_id(key))
    check = session.exec(_CHECK_BY_KEY, params={"key": key}).first()
    first_time = check is None
    file_digests: dict[str, dict] = {}
    if first_time:  # stored once, with its answer, at the end
        # Every field is given: pydantic inspects a default factory's signature each time it
        # calls one, which costs more than the rest of building the row on this hot path.
        now = utcnow()
        check = UploadCheck(
            check_id=str(uuid.uuid4()),
            idempotency_key=key,
            repo_pk=repo.id,
            uploader_pk=uploader.id,
            revision=request.repo.revision,
            visibility=request.repo.visibility,
            source=source,
            decision=Decision.HOLD,
            reasons=[],
            matches=[],
            answer={},
            created_at=now,
            updated_at=now,
            file_count=len(request.files),
            image_count=len(images),
            policy_id=policy.id,
            policy_version=policy.version,
        )
        check.matches, file_digests = scan_sample_images(
            session=session,
            runtime=runtime,
            repo=repo,
            revision=check.revision,
            images=images,
            ref=f"check:{check.check_id}",
            hashed=hashed,
            policy=policy,
        )
    answer = evaluate(
        session=session,
        runtime=runtime,
        actor=actor,
        check=check,
        uploader=uploader,
        repo=repo,
        policy=policy,
        images=images,
    )
    fresh = check.updated_at and utcnow() - check.updated_at < ANSWER_REUSE
    if not first_time and fresh and _same_situation(check.answer, answer):
        return check.answer
    case_id = _open_review_cases(
        session=session,
        repo=repo,
        check=check,
        answer=answer,
        actor=actor,
        policy=policy,
        file_digests=file_digests,
    )
    check.case_id = check.case_id or case_id
    previous = check.decision if not first_time else None
    check.decision = answer["decision"]
    check.reasons = answer["reasons"]
    check.answer = answer
    check.policy_id, check.policy_version = policy.id, policy.version
    check.updated_at = utcnow()
    repo.last_revision = check.revision
    if first_time:
        session.add(check)
    if first_time or previous != check.decision:
        record(
            session,
            actor=actor,
            action="upload.check",
            subject=f"check:{check.check_id}",
            details={
                "repo": repo.repo_id,
                "revision": check.revision,
                "decision": check.decision,
                "reasons": [r["code"] for r in answer["reasons"]],
                "policy": policy.ref,
                "source": source,
                "previous": previous,
            },
        )
    session.flush()
    return answer
