"""The pre-upload check end to end: hash and match the samples, decide, open what follows.

`run_check` answers the platform's check for one repository revision (see
`hostguard.uploads.check` for the rules and for what makes two checks the same). It composes
three domains in one transaction: hashing (the samples' hashes and their matches against the
lists), uploads (the decision from the policy, KYU and certifications) and cases (a case for
every hash-list match and for a watermark hold a moderator must review).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Literal, TypedDict, cast

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from hostguard.cases.intake import open_case
from hostguard.cases.models import Case, CaseEvidence, CaseSource
from hostguard.datasets.service import latest_attestations
from hostguard.db import advisory_xact_lock
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput
from hostguard.hashing.hasher import FileHashes
from hostguard.hashing.service import (
    hash_images,
    match_hashes,
    note_matches,
    remember_sample_hashes,
)
from hostguard.hashing.video import looks_like_video
from hostguard.platform.models import ModelRepo
from hostguard.platform.service import get_or_create_uploader_and_repo
from hostguard.policy import MatchAction, Policy
from hostguard.policy.model import MATCH_ACTION_SEVERITY
from hostguard.uploads.check import (
    ANSWER_REUSE,
    MAX_IMAGES,
    REVIEW_REASONS,
    CheckAnswer,
    CheckRequest,
    Match,
    Reason,
    UnreadableImage,
    check_lock_id,
    content_key,
    evaluate,
    match_action,
    reason,
    same_situation,
    sample_noun,
)
from hostguard.uploads.documentation import MAX_CARD_CHARS, read_card
from hostguard.uploads.documentation import card_datasets as datasets_in_card
from hostguard.uploads.models import CheckDecision, UploadCheck
from hostguard.uploads.outputs import model_outputs
from hostguard.workflows.decision_events import announce_decision, store_answer

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


class FileDigests(TypedDict):
    """Digests of a matched sample image, kept as case evidence only (see `scan_sample_images`)."""

    md5: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    size: int


class MatchedEntry(TypedDict):
    """A list entry a sample matched, by id (never its hash), kept as case evidence only: what
    `false_match` suppresses when a moderator marks the match wrong (a sample video's own
    hashes are not the entry's, so its digests cannot name it)."""

    path: str
    list: str
    entry_id: int


def hash_sample_images(*, runtime: Runtime, images: list[tuple[str, bytes]]) -> list[FileHashes]:
    """Hash the sample images (CPU only, no database); matching happens in scan_sample_images."""
    if not images:
        return []
    return hash_images(runtime=runtime, images=images)


def match_sample_images(*, session: Session, hashed: list[FileHashes], policy: Policy) -> list:
    """Match hashed sample images against the enabled lists: reads only (the list rows, the
    index, the matched entries), so a caller may do it before its write transaction begins
    and hand the result to run_check as `scans` (the web view does, on SQLite in a read-only
    transaction: the first check after a start maps the index, which took seconds of the
    write lock when it ran inside run_check)."""
    return match_hashes(session=session, hashed=hashed, policy=policy)


def scan_sample_images(
    *,
    session: Session,
    runtime: Runtime,
    repo: ModelRepo,
    revision: str,
    images: list[tuple[str, bytes]],
    ref: str,
    policy: Policy,
    hashed=None,
    scans=None,
) -> tuple[list[Match | UnreadableImage], dict[str, FileDigests], list[MatchedEntry]]:
    """Match the sample images against the hash lists (the hashing domain's service).

    Returns (matches, file digests, matched entries). Matches are dicts {path, kind, list,
    algorithm, distance, threshold, category, list_action} (or {path, error}; `kind` says
    whether the sample is an image or a video, for the reason's words): no image bytes
    and no list entry; they are stored and answered. File digests map a matched image's path
    to the digests of the uploader's own file (md5, sha256 and its PDQ hash), which a report
    to a hotline or NCMEC needs; they go into the case evidence only, never into the stored
    check or the answer, because a PDQ hash that matched is close to a list entry's. Matched
    entries name each match's list entry by id, for the case evidence only too. The hashes of
    images the policy blocks (`match_action`) are not kept for retroactive matching. `hashed`
    comes from hash_sample_images when the caller hashed before opening its transaction. The
    only place this module talks to hostguard.hashing.
    """
    if not images:
        return [], {}, []
    if scans is None:
        if hashed is None:
            hashed = hash_sample_images(runtime=runtime, images=images)
        scans = match_hashes(session=session, hashed=hashed, policy=policy)
    # false-positive control: an entry suddenly matching many distinct images is quarantined
    note_matches(session=session, runtime=runtime, policy=policy, scans=scans)
    matches: list[Match | UnreadableImage] = []
    digests: dict[str, FileDigests] = {}
    entries: list[MatchedEntry] = []
    for (path, data), scan in zip(images, scans, strict=True):
        found = getattr(scan, "matches", None) or []
        if found:
            digests[path] = _file_digests(data, scan)
            kind: Literal["image", "video"] = "video" if _is_video(data, scan) else "image"
        for match in found:
            hit: Match = {
                "path": path,
                "kind": kind,
                "list": match.get("list"),
                "algorithm": match.get("algorithm"),
                "distance": match.get("distance"),
                "threshold": match.get("threshold"),
                "category": match.get("category") or "default",
                # the list's own action; missing would mean "policy only", so fail closed
                "list_action": match.get("action") or "block",
            }
            if match.get("low_quality"):  # a flat image's PDQ hash: held, never blocked
                hit["low_quality"] = True
            matches.append(hit)
            entries.append({"path": path, "list": match["list"], "entry_id": match["entry_id"]})
        error = getattr(scan, "error", None)
        if error:
            matches.append({"path": path, "error": str(error)[:200]})
    refused = {
        m["path"] for m in matches if "list" in m and match_action(m, policy) == MatchAction.BLOCK
    }
    remember_sample_hashes(
        session=session, repo=repo, revision=revision, scans=scans, ref=ref, refused=refused
    )
    return matches, digests, entries


def _is_video(data: bytes, scan) -> bool:
    """Whether a sample is a video, as retroactive matching tells (`sample_is_video`): it has a
    vPDQ hash (an MP4, a WebM, an animated GIF), or is a video file whose frames were not read."""
    file_hashes = getattr(scan, "file_hashes", None)
    return bool(file_hashes is not None and file_hashes.video) or looks_like_video(data)


def _file_digests(data: bytes, scan) -> FileDigests:
    """Digests of one uploaded file, as evidence: they describe the upload, not a list."""
    hashes = getattr(scan, "hashes", None) or {}  # the hasher's primary hashes, digests included
    return {
        "md5": hashes.get("md5") or hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashes.get("sha256") or hashlib.sha256(data).hexdigest(),
        "pdq": hashes.get("pdq"),
        "pdq_quality": getattr(scan, "quality", None),
        "size": len(data),
    }


_SAMPLES = {
    "image": "Sample images",
    "video": "Sample videos",
    "image and video": "Sample images and videos",
}


def _open_match_case(
    *,
    session: Session,
    repo: ModelRepo,
    check: UploadCheck,
    matches: list[dict],
    actor: str,
    policy: Policy,
    file_digests: dict[str, FileDigests] | None = None,
    matched_entries: list[MatchedEntry] | None = None,
    uploader_ip_enc: bytes | None = None,
) -> int:

    worst = max(
        (m for m in matches if "category" in m),
        key=lambda m: MATCH_ACTION_SEVERITY[match_action(m, policy)],
    )
    category = policy.case_category(worst["category"])
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
            "entries": matched_entries or [],
        },
        automated=True,
        summary=f"{_SAMPLES[sample_noun(m for m in matches if 'category' in m)]} of "
        f"{repo.repo_id}@{check.revision[:12]} match hash lists ({worst['category']})",
        policy=policy,
    )
    assert case.id is not None  # flushed by open_case
    if uploader_ip_enc is not None and policy.categories[case.category].legal_hold:
        # the IP address is personal data kept only where a hotline report may need it
        evidence = session.exec(
            select(CaseEvidence)
            .where(
                CaseEvidence.case_id == case.id,
                CaseEvidence.ref == f"check:{check.check_id}",
                CaseEvidence.kind == "hash_match",
            )
            .order_by(col(CaseEvidence.id).desc())
        ).first()
        if evidence is not None:
            evidence.uploader_ip_enc = uploader_ip_enc
    return case.id


def _has_evidence(session: Session, *, check: UploadCheck, kind: str) -> bool:
    """Whether a case of the check's repo already holds this kind of evidence from the check."""
    return (
        session.exec(
            select(CaseEvidence.id).where(
                col(CaseEvidence.case_id).in_(select(Case.id).where(Case.repo_pk == check.repo_pk)),
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
    answer: CheckAnswer,
    actor: str,
    policy: Policy,
    file_digests: dict[str, FileDigests] | None = None,
    matched_entries: list[MatchedEntry] | None = None,
    uploader_ip_enc: bytes | None = None,
) -> int | None:
    """Open (or add to) the repo's case for what a moderator must see; once per check and kind.

    Every hash-list match (whether it blocks, holds or only records, see `match_action`, a
    moderator looks at each), and holds that promise the uploader a review (watermark not
    found or not checkable). The caller holds the check's lock (`run_check`), so concurrent
    retries cannot both open one.
    """

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
            matched_entries=matched_entries,
            uploader_ip_enc=uploader_ip_enc,
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
            policy=policy,
        )
        case_id = case_id or case.id
    return case_id


def named_datasets(request: CheckRequest) -> list[str]:
    """The datasets a check's body names: `repo.datasets` and its model card's `datasets:`."""
    names = list(request.repo.datasets or [])
    if request.repo.model_card:
        names += datasets_in_card(read_card(request.repo.model_card[:MAX_CARD_CHARS])[0])
    return names


def dataset_scan_reason(
    *, session: Session, visibility: str, datasets: list[str] | None, policy: Policy
) -> Reason | None:
    """`dataset_scan_missing` when a statement the visibility needs asks for dataset scans
    (`dataset_scans.required_for`) and a dataset the card names has no clean scan at most
    `dataset_scans.max_age_days` old; the message names each such dataset and why."""
    rule = policy.dataset_scans
    wanted = {s.id for s in policy.statements_for(visibility)} & set(rule.required_for)
    names = sorted({d.strip() for d in datasets or [] if isinstance(d, str) and d.strip()})
    if not wanted or not names:
        return None
    newest = latest_attestations(session=session, repo_ids=names)
    oldest = utcnow() - timedelta(days=rule.max_age_days)
    missing = []
    for name in names:
        scan = newest.get(name)
        if scan is None:
            missing.append(f"{name} (not scanned)")
        elif not (scan.attestation or {}).get("attestation", {}).get("clean"):
            missing.append(f"{name} (its last scan is not clean)")
        elif scan.finished_at is None or scan.finished_at < oldest:
            missing.append(f"{name} (last scanned more than {rule.max_age_days} days ago)")
    if not missing:
        return None
    return reason(
        "dataset_scan_missing",
        "The training-data statement needs a clean scan, at most "
        f"{rule.max_age_days} days old, of each dataset the model card names: "
        + ", ".join(missing)
        + ".",
    )


_CHECK_BY_KEY = (
    select(UploadCheck).where(UploadCheck.idempotency_key == bindparam("key")).with_for_update()
)  # every check (docs/DEVELOPING.md, "Statements on hot paths")


def run_check(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    request: CheckRequest,
    images: list[tuple[str, bytes]],
    source: str = "api",
    policy: Policy,
    hashed=None,
    scans=None,
    card_datasets: list[str] | None = None,
) -> CheckAnswer:
    """Answer the pre-upload check for one repository revision (see the module docstring).

    `hashed`: the images already hashed by hash_sample_images before the caller's transaction
    began (the web view does this); without it the images are hashed here. `scans`: the
    hashed images already matched by match_sample_images, also before the transaction. `card_datasets`:
    the datasets the model card names (`datasets:` in its metadata), for the policy's
    `dataset_scans` rule (`dataset_scan_reason`), besides those the body names (`repo.datasets`
    and the `datasets:` of the card in `repo.model_card`).
    """
    if len(images) > MAX_IMAGES:
        raise InvalidInput(f"send at most {MAX_IMAGES} sample images", code="too_many_images")
    uploader, repo = get_or_create_uploader_and_repo(
        session,
        platform_id=request.uploader.id,
        username=request.uploader.username,
        email=request.uploader.email,
        keys=runtime.keys if request.uploader.email else None,
        repo_id=request.repo.id,
        repo_type=request.repo.type,
    )
    assert repo.id is not None  # read or inserted by get_or_create_uploader_and_repo
    outputs = model_outputs(request.repo.outputs, request.repo.pipeline_tag)
    if outputs is not None and repo.outputs != outputs:
        repo.outputs = outputs  # what the statements asked of it depend on
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
    advisory_xact_lock(session, check_lock_id(key))
    check = session.exec(_CHECK_BY_KEY, params={"key": key}).first()
    first_time = check is None
    file_digests: dict[str, FileDigests] = {}
    matched_entries: list[MatchedEntry] = []
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
            decision=CheckDecision.HOLD,
            reasons=[],
            matches=[],
            answer={},
            created_at=now,
            updated_at=now,
            file_count=len(request.files),
            image_count=len(images),
            policy_id=policy.id,
            policy_version=policy.version,
            decision_seq=0,
        )
        check.matches, file_digests, matched_entries = scan_sample_images(
            session=session,
            runtime=runtime,
            repo=repo,
            revision=check.revision,
            images=images,
            ref=f"check:{check.check_id}",
            hashed=hashed,
            scans=scans,
            policy=policy,
        )
    assert check is not None  # found, or made above
    answer = evaluate(
        session=session,
        runtime=runtime,
        actor=actor,
        check=check,
        uploader=uploader,
        repo=repo,
        policy=policy,
        images=images,
        model_card=request.repo.model_card,
        card_url=request.repo.card_url,
    )
    scan_reason = dataset_scan_reason(
        session=session,
        visibility=check.visibility,
        datasets=[*(card_datasets or []), *named_datasets(request)],
        policy=policy,
    )
    if scan_reason is not None:
        answer["reasons"].append(scan_reason)
        if answer["decision"] == CheckDecision.ALLOW:
            answer["decision"] = CheckDecision.HOLD
    fresh = check.updated_at and utcnow() - check.updated_at < ANSWER_REUSE
    if not first_time and fresh and same_situation(check.answer, answer):
        return cast(CheckAnswer, check.answer)  # the answer stored by an earlier run_check
    case_id = _open_review_cases(
        session=session,
        repo=repo,
        check=check,
        answer=answer,
        actor=actor,
        policy=policy,
        file_digests=file_digests,
        matched_entries=matched_entries,
        uploader_ip_enc=runtime.keys.encrypt(str(request.uploader.ip))
        if request.uploader.ip is not None
        and check.case_id is None
        and any("category" in m for m in check.matches)
        else None,
    )
    check.case_id = check.case_id or case_id
    previous = check.decision if not first_time else None
    changed = first_time or previous != answer["decision"]
    if first_time:
        session.add(check)
    store_answer(
        session,
        actor=actor,
        check=check,
        repo=repo,
        answer=cast(dict, answer),
        policy=policy,
        source=source,
        previous=previous,
        audit=changed,
    )
    repo.last_revision = check.revision
    if changed:
        announce_decision(
            session, runtime=runtime, check=check, repo=repo, previous=previous, cause="check"
        )
    session.flush()
    return answer
