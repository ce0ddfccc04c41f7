"""Hugging Face Hub: webhook events in, the repo read with `huggingface_hub`, quarantine out.

The webhook only queues a check (the Hub expects a quick answer, and replays deliveries:
a content event's job is deduplicated on webhook id + repo + new sha; a settings event is
checked again unless the same event is still queued, see `_dedupe_key`). The job reads the
repository at that revision with the real client — file list, model-card metadata, sample images — runs the
same pre-upload check, and when the answer is not `allow` quarantines the repo (private or
gated, the `hf_quarantine` setting), tells the uploader in a discussion and opens a case.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.errors import AuthenticationRequired, InvalidInput, Unavailable
from hostguard.jobs.models import Job, JobStatus
from hostguard.jobs.service import enqueue
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import RepoStatus
from hostguard.uploads.check import HUB_SOURCE, MAX_IMAGES, CheckRequest, run_check

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
HANDLED_SCOPES = ("repo", "repo.content")


def hub_api(runtime):
    from huggingface_hub import HfApi

    settings = runtime.settings
    return HfApi(endpoint=settings.hf_endpoint or None, token=settings.hf_token or None)


def check_secret(runtime, supplied: str | None) -> None:
    expected = runtime.settings.hf_webhook_secret
    if not expected:
        raise Unavailable(
            "the Hugging Face webhook is not configured (HOSTGUARD_HF_WEBHOOK_SECRET)"
        )
    if not hmac.compare_digest((supplied or "").encode(), expected.encode()):
        raise AuthenticationRequired(
            "wrong or missing X-Webhook-Secret", code="invalid_webhook_secret"
        )


def parse_event(data) -> list[dict]:
    """The (repo, revision) checks an event asks for; [] for events we do not act on."""
    if not isinstance(data, dict):
        raise InvalidInput("the webhook body must be a JSON object", code="invalid_payload")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    repo = data.get("repo") if isinstance(data.get("repo"), dict) else {}
    scope, action = str(event.get("scope", "")), str(event.get("action", ""))
    broad = next(
        (
            s
            for s in sorted(HANDLED_SCOPES, key=len, reverse=True)
            if scope == s or scope.startswith(s + ".")
        ),
        None,
    )
    if broad is None or action not in ("create", "update") or repo.get("type", "model") != "model":
        return []
    name = repo.get("name")
    if not isinstance(name, str) or "/" not in name:
        raise InvalidInput("repo.name must be like owner/name", code="invalid_payload")
    shas = [
        r.get("newSha")
        for r in data.get("updatedRefs") or []
        if isinstance(r, dict)
        and str(r.get("ref", "")).startswith("refs/heads/")
        and r.get("newSha")
    ]
    if not shas and isinstance(repo.get("headSha"), str):
        shas = [repo["headSha"]]
    webhook_id = (
        str((data.get("webhook") or {}).get("id", ""))
        if isinstance(data.get("webhook"), dict)
        else ""
    )
    # What the event says about visibility: a `repo.config` event for an unchanged sha (the repo
    # made public, say) is a new question, not a replay of the content event.
    settings = {"private": repo.get("private"), "updatedConfig": data.get("updatedConfig")}
    fingerprint = hashlib.sha256(
        json.dumps(settings, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return [
        {
            "repo_id": name,
            "revision": sha,
            "webhook_id": webhook_id,
            "content": broad == "repo.content",
            "fingerprint": fingerprint,
        }
        for sha in dict.fromkeys(shas)
    ]


def _dedupe_key(session: Session, item: dict) -> str | None:
    """The job's dedupe key, or None when the event repeats one still waiting to run.

    A content event is one check per (webhook, repo, sha): the Hub replays deliveries. Any
    other repo event (settings, visibility) may mean the same sha is now more visible, so it
    is checked again unless an identical event is still queued; once that has run, a new one
    is checked again too, because the uploader may have flipped the visibility back.
    """
    base = f"hf:{item['webhook_id']}:{item['repo_id']}:{item['revision']}"
    if item["content"]:
        key = base[:200]
        return (
            None
            if session.exec(select(Job.id).where(Job.dedupe_key == key)).first() is not None
            else key
        )
    prefix = (
        "hf-config:"
        + hashlib.sha256(f"{base}:{item['fingerprint']}".encode()).hexdigest()[:32]
        + ":"
    )
    earlier = session.exec(select(Job.status).where(Job.dedupe_key.startswith(prefix))).all()
    if any(status in (JobStatus.QUEUED, JobStatus.RUNNING) for status in earlier):
        return None
    return f"{prefix}{len(earlier)}"


def queue_checks(session: Session, *, actor: str, data) -> dict:
    """Queue a Hub check per new revision or visibility change; replayed deliveries are ignored."""
    queued, duplicates = [], []
    for item in parse_event(data):
        key = _dedupe_key(session, item)
        if key is None:
            duplicates.append(item["revision"])
            continue
        job = enqueue(
            session,
            "integrations.hf_check",
            {"repo_id": item["repo_id"], "revision": item["revision"]},
            dedupe_key=key,
        )
        queued.append({"repo_id": item["repo_id"], "revision": item["revision"], "job_id": job.id})
    if queued:
        record(
            session,
            actor=actor,
            action="huggingface.webhook",
            subject=f"repo:{queued[0]['repo_id']}",
            details={"queued": len(queued), "duplicates": len(duplicates)},
        )
    return {
        "queued": queued,
        "duplicates": duplicates,
        "status": "queued" if queued else ("duplicate" if duplicates else "ignored"),
    }


def read_revision(
    runtime, repo_id: str, revision: str
) -> tuple[object, list[dict], list[tuple[str, bytes]]]:
    """Repo info, file list and sample images at the revision, through the real client."""
    api = hub_api(runtime)
    info = api.model_info(repo_id, revision=revision, files_metadata=True)
    limit = runtime.settings.max_image_bytes
    files, image_names = [], []
    for sibling in info.siblings or []:
        lfs = getattr(sibling, "lfs", None)
        size = getattr(sibling, "size", None)
        entry = {"path": sibling.rfilename, "size": size or 0}
        if lfs is not None and getattr(lfs, "sha256", None):
            entry["sha256"] = lfs.sha256
        files.append(entry)
        oversized = (
            size is not None and size > limit
        )  # never downloaded; the size comes from the Hub
        if (
            sibling.rfilename.lower().endswith(IMAGE_EXT)
            and not oversized
            and len(image_names) < MAX_IMAGES
        ):
            image_names.append(sibling.rfilename)
    images = []
    with tempfile.TemporaryDirectory(prefix="hostguard-hf-") as cache:
        for name in image_names:
            path = api.hf_hub_download(repo_id, name, revision=revision, cache_dir=cache)
            data = Path(path).read_bytes()
            if len(data) <= limit:  # a sibling listed without a size
                images.append((name, data))
    return info, files, images


def _card_receipt(info) -> dict | None:
    card = getattr(info, "card_data", None)
    data = card.to_dict() if hasattr(card, "to_dict") else (card or {})
    from hostguard.uploads.receipts import MODEL_CARD_KEY

    receipt = data.get(MODEL_CARD_KEY) if isinstance(data, dict) else None
    return receipt if isinstance(receipt, dict) else None


def _settings_of(info) -> dict:
    return {
        "private": bool(getattr(info, "private", False)),
        "gated": getattr(info, "gated", False) or False,
    }


def _content_of(info) -> dict[str, tuple]:
    """path -> what identifies its content on the Hub (size, blob id, LFS sha256); the card left out."""
    content = {}
    for sibling in info.siblings or []:
        if sibling.rfilename == "README.md":
            continue
        lfs = getattr(sibling, "lfs", None)
        content[sibling.rfilename] = (
            getattr(sibling, "size", None),
            getattr(sibling, "blob_id", None),
            getattr(lfs, "sha256", None) if lfs is not None else None,
        )
    return content


def _same_content_as(runtime, repo_id: str, info) -> Callable[[str], bool]:
    """Whether another revision holds exactly the files of this one, the model card apart."""
    from huggingface_hub.errors import HfHubHTTPError

    mine = _content_of(info)

    def same(other: str) -> bool:
        try:
            theirs = hub_api(runtime).model_info(repo_id, revision=other, files_metadata=True)
        except HfHubHTTPError:
            return False
        return _content_of(theirs) == mine

    return same


def _quarantined_settings(session: Session, repo_id: str) -> dict | None:
    """The Hub settings the repo had before hostguard quarantined it (kept in the audit record)."""
    from hostguard.audit.models import AuditRecord

    last = session.exec(
        select(AuditRecord)
        .where(
            AuditRecord.subject == f"repo:{repo_id}", AuditRecord.action == "huggingface.quarantine"
        )
        .order_by(AuditRecord.seq.desc())
    ).first()
    return (last.details or {}).get("prior") if last is not None else None


def _visibility_of(settings: dict) -> str:
    return (
        "private" if settings.get("private") else ("gated" if settings.get("gated") else "public")
    )


def check_hub_revision(
    *, session: Session, runtime, repo_id: str, revision: str, job_id: int | None = None
) -> dict:
    """Run the pre-upload check on a Hub revision and act on the answer.

    Not `allow`: quarantine. `allow` on a repo hostguard quarantined: queue a `restore` to the
    settings it had before. While quarantined, the repo is checked for the visibility it had
    (and will get back), not for the private or gated state hostguard put it in.
    """
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from hostguard.platform.service import find_repo

    try:
        info, files, images = read_revision(runtime, repo_id, revision)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        record(
            session,
            actor="system",
            action="huggingface.check_skipped",
            subject=f"repo:{repo_id}",
            reason=f"{exc.__class__.__name__} at {revision[:40]}",
        )
        return {"skipped": "not found on the Hub"}
    except HfHubHTTPError:
        raise  # the job is retried
    known = find_repo(session, repo_id)
    quarantined = known is not None and known.status == RepoStatus.QUARANTINED
    # asked before anything is written, so no lock is held while the Hub answers
    serves_this = quarantined and _is_head(runtime, repo_id, revision)
    prior = (_quarantined_settings(session, repo_id) if quarantined else None) or _settings_of(info)
    uploader_name = getattr(info, "author", None) or repo_id.split("/")[0]
    request = CheckRequest.model_validate(
        {
            "uploader": {"id": uploader_name, "username": uploader_name},
            "repo": {
                "id": repo_id,
                "type": "model",
                "revision": revision,
                "visibility": _visibility_of(prior),
            },
            "files": files,
        }
    )
    from hostguard.uploads.certifications import adopt_card_receipt

    receipt = _card_receipt(info)
    if receipt is not None:
        adopt_card_receipt(
            session=session,
            runtime=runtime,
            signed=receipt,
            repo_id=repo_id,
            uploader_id=uploader_name,
            revision=revision,
            same_content_as=_same_content_as(runtime, repo_id, info),
        )
    answer = run_check(
        session=session,
        runtime=runtime,
        actor="system",
        request=request,
        images=images,
        source=HUB_SOURCE,
    )
    if answer["decision"] == "allow":
        if serves_this:
            _release(
                session=session,
                repo_id=repo_id,
                revision=revision,
                answer=answer,
                prior=prior,
                ref=job_id,
            )
        return {"decision": "allow", "check_id": answer["check_id"]}
    _quarantine(
        session=session,
        runtime=runtime,
        repo_id=repo_id,
        revision=revision,
        answer=answer,
        image_paths=[name for name, _ in images],
        ref=job_id,
        prior=prior,
    )
    return {"decision": answer["decision"], "check_id": answer["check_id"]}


def _is_head(runtime, repo_id: str, revision: str) -> bool:
    """Whether `revision` is what the repo serves now: only a pass of the head lifts a quarantine
    (a replayed webhook or a re-check of an older revision must not lift one a newer one needs)."""
    head = getattr(hub_api(runtime).repo_info(repo_id), "sha", None)
    return head is not None and head == revision  # a Hub that names no head lifts nothing


def _release(
    *, session: Session, repo_id: str, revision: str, answer: dict, prior: dict, ref
) -> None:
    """Lift hostguard's quarantine: the repo goes back to the settings it had before."""
    from hostguard.platform.service import find_repo

    repo = find_repo(session, repo_id)
    repo.status = RepoStatus.ACTIVE
    # `restore` puts back what the actioner kept before hiding the repo; `extra` says the same
    # for actioners (webhook receivers) that keep nothing.
    queue_action(
        session,
        PlatformAction(
            kind="restore",
            repo_id=repo_id,
            message=(
                f"hostguard checked revision {revision[:12]} again and it passes; the quarantine is lifted."
            ),
            extra={
                "revision": revision,
                "prior": prior,
                "reason": "upload_check_allow",
                "check_id": answer["check_id"],
            },
        ),
        dedupe_key=_action_key("restore", repo_id, revision, ref),
    )
    queue_action(
        session,
        PlatformAction(
            kind="notify_uploader",
            repo_id=repo_id,
            message=(
                f"hostguard checked revision {revision[:12]} again and it passes: the repository is back to "
                f"{_visibility_of(prior)}."
            ),
            extra={"title": "Upload check: passed"},
        ),
        dedupe_key=_action_key("notify-release", repo_id, revision, ref),
    )
    record(
        session,
        actor="system",
        action="huggingface.release",
        subject=f"repo:{repo_id}",
        details={"revision": revision, "check": answer["check_id"], "prior": prior},
    )


def _case_category(answer: dict) -> str:
    """The matched list's category when images matched; `other` for missing KYU/certifications."""
    from hostguard.cases.intake import normalise_category

    for match in answer.get("matches") or []:
        if match.get("category") and match["category"] != "default":
            return normalise_category(match["category"])
    return "other"


def _resolve_url(runtime, repo_id: str, revision: str, path: str) -> str:
    endpoint = (runtime.settings.hf_endpoint or "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo_id}/resolve/{revision}/{quote(path)}"


def _action_key(kind: str, repo_id: str, revision: str, ref) -> str:
    """One platform action of this kind per check job (see integrations/jobs.py)."""
    return f"hf-{kind}:" + hashlib.sha256(f"{repo_id}\0{revision}\0{ref}".encode()).hexdigest()[:40]


def _quarantine(
    *,
    session: Session,
    runtime,
    repo_id: str,
    revision: str,
    answer: dict,
    image_paths: list[str],
    ref: int | None = None,
    prior: dict | None = None,
) -> None:
    from hostguard.cases.intake import open_case
    from hostguard.cases.models import CaseSource
    from hostguard.platform.service import find_repo

    repo = find_repo(session, repo_id)
    matched = {m["path"] for m in answer.get("matches") or [] if m.get("path")}
    # The console shows sample images from the Hub's own URLs (hostguard keeps no image);
    # matched images are listed separately and never displayed.
    case = open_case(
        session=session,
        repo=repo,
        source=CaseSource.UPLOAD_CHECK,
        category=_case_category(answer),
        actor="system",
        kind="upload_check",
        ref=f"check:{answer['check_id']}",
        details={
            "revision": revision,
            "decision": answer["decision"],
            "reasons": [r["code"] for r in answer["reasons"]],
            "sample_image_urls": [
                _resolve_url(runtime, repo_id, revision, p) for p in image_paths if p not in matched
            ],
            "matched_image_urls": [
                _resolve_url(runtime, repo_id, revision, p) for p in image_paths if p in matched
            ],
        },
        automated=True,
        summary=f"{repo_id}@{revision[:12]} failed the upload check",
    )
    repo.status = RepoStatus.QUARANTINED
    lines = [
        f"hostguard checked revision {revision[:12]} of this repository and it cannot be public yet "
        f"({answer['decision']}). It was made {runtime.settings.hf_quarantine} until this is resolved.",
        "",
    ]
    lines += [f"- {r['message']}" for r in answer["reasons"]]
    steps = [s for s in answer.get("required_steps", [])]
    if steps:
        lines += ["", "What to do:"] + [f"- {s['type']}: {s['url']}" for s in steps]
    message = "\n".join(lines)
    queue_action(
        session,
        PlatformAction(
            kind="quarantine",
            repo_id=repo_id,
            case_id=case.id,
            message=message,
            extra={"revision": revision, "prior": prior},
        ),
        dedupe_key=_action_key("quarantine", repo_id, revision, ref),
    )
    queue_action(
        session,
        PlatformAction(
            kind="notify_uploader",
            repo_id=repo_id,
            case_id=case.id,
            message=message,
            extra={"title": "Upload check: action needed"},
        ),
        dedupe_key=_action_key("notify", repo_id, revision, ref),
    )
    record(
        session,
        actor="system",
        action="huggingface.quarantine",
        subject=f"repo:{repo_id}",
        details={
            "revision": revision,
            "case": case.id,
            "decision": answer["decision"],
            "prior": prior,
        },
    )
