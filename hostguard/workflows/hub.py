"""A Hub webhook end to end: queue a check of each new revision, run it, act on the answer.

The webhook only queues a check (the Hub expects a quick answer, and replays deliveries:
a content event's job is deduplicated on webhook id + repo + new sha; a settings event is
checked again unless the same event is still queued, see `_dedupe_key`). The job reads the
repository at that revision from the Hub (`hostguard.integrations.huggingface`: file list,
model-card metadata, sample images), adopts a certification receipt found in the card, runs the
same pre-upload check, and when the answer is not `allow` quarantines the repo (private or
gated, the `hf_quarantine` setting), tells the uploader in a discussion and opens a case; a
pass of the revision a quarantined repo serves lifts the quarantine.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, TypedDict

from sqlmodel import Session, col, select

from hostguard.audit.models import AuditRecord
from hostguard.audit.service import record
from hostguard.cases.intake import open_case
from hostguard.cases.models import CaseSource
from hostguard.integrations.huggingface import (
    HubEvent,
    RevisionNotOnHub,
    card_edit_url,
    card_metadata,
    is_head,
    parse_event,
    read_model_card,
    read_revision,
    resolve_url,
    same_content_as,
    settings_of,
    visibility_of,
)
from hostguard.jobs.models import Job, JobStatus
from hostguard.jobs.service import enqueue, handler
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import RepoStatus
from hostguard.platform.service import find_repo
from hostguard.policy import Policy
from hostguard.uploads.certifications import adopt_card_receipt
from hostguard.uploads.check import MAX_IMAGES, CheckAnswer, CheckRequest
from hostguard.uploads.documentation import MAX_CARD_CHARS, card_datasets
from hostguard.uploads.receipts import MODEL_CARD_KEY
from hostguard.uploads.rechecks import HUB_SOURCE
from hostguard.workflows.upload_check import run_check

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

CHECK_JOB = "integrations.hf_check"  # the kind's first name, kept: queued jobs carry it


class QueuedCheck(TypedDict):
    repo_id: str
    revision: str
    job_id: int | None


class WebhookAnswer(TypedDict):
    """`queue_checks`: what the Hub webhook answers (`status`: queued, duplicate or ignored)."""

    queued: list[QueuedCheck]
    duplicates: list[str]
    status: str


class HubCheckSkipped(TypedDict):
    skipped: str


class HubCheckResult(TypedDict):
    decision: str
    check_id: str


def _dedupe_key(session: Session, item: HubEvent) -> str | None:
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
    earlier = session.exec(select(Job.status).where(col(Job.dedupe_key).startswith(prefix))).all()
    if any(status in (JobStatus.QUEUED, JobStatus.RUNNING) for status in earlier):
        return None
    return f"{prefix}{len(earlier)}"


def queue_checks(session: Session, *, actor: str, data) -> WebhookAnswer:
    """Queue a Hub check per new revision or visibility change; replayed deliveries are ignored."""
    queued: list[QueuedCheck] = []
    duplicates: list[str] = []
    for item in parse_event(data):
        key = _dedupe_key(session, item)
        if key is None:
            duplicates.append(item["revision"])
            continue
        job = enqueue(
            session,
            CHECK_JOB,
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


def _quarantined_settings(session: Session, repo_id: str) -> dict[str, Any] | None:
    """The Hub settings the repo had before hostguard quarantined it (kept in the audit record)."""
    last = session.exec(
        select(AuditRecord)
        .where(
            AuditRecord.subject == f"repo:{repo_id}", AuditRecord.action == "huggingface.quarantine"
        )
        .order_by(col(AuditRecord.seq).desc())
    ).first()
    return (last.details or {}).get("prior") if last is not None else None


def check_hub_revision(
    *, session: Session, runtime: Runtime, repo_id: str, revision: str, job_id: int | None = None
) -> HubCheckSkipped | HubCheckResult:
    """Run the pre-upload check on a Hub revision and act on the answer.

    Not `allow`: quarantine. `allow` on a repo hostguard quarantined: queue a `restore` to the
    settings it had before. While quarantined, the repo is checked for the visibility it had
    (and will get back), not for the private or gated state hostguard put it in.
    """
    try:  # any other Hub error is raised: the job is retried
        info, files, images = read_revision(runtime, repo_id, revision, max_images=MAX_IMAGES)
    except RevisionNotOnHub as exc:
        record(
            session,
            actor="system",
            action="huggingface.check_skipped",
            subject=f"repo:{repo_id}",
            reason=f"{exc} at {revision[:40]}",
        )
        return {"skipped": "not found on the Hub"}
    known = find_repo(session, repo_id)
    quarantined = known is not None and known.status == RepoStatus.QUARANTINED
    # asked before anything is written, so no lock is held while the Hub answers
    serves_this = quarantined and is_head(runtime, repo_id, revision)
    prior = (_quarantined_settings(session, repo_id) if quarantined else None) or settings_of(info)
    uploader_name = getattr(info, "author", None) or repo_id.split("/")[0]
    policy = runtime.policy
    model_card = (
        read_model_card(runtime, repo_id, revision, info)
        if policy.documentation.required.get(visibility_of(prior)) is not None
        else None
    )
    request = CheckRequest.model_validate(
        {
            "uploader": {"id": uploader_name, "username": uploader_name},
            "repo": {
                "id": repo_id,
                "type": "model",
                "revision": revision,
                "visibility": visibility_of(prior),
                "pipeline_tag": getattr(info, "pipeline_tag", None) or None,
                "model_card": model_card[:MAX_CARD_CHARS].replace("\x00", "")
                if model_card
                else None,
                "card_url": card_edit_url(runtime, repo_id),
            },
            "files": files,
        }
    )
    receipt = card_metadata(info).get(MODEL_CARD_KEY)
    if isinstance(receipt, dict):
        adopt_card_receipt(
            session=session,
            runtime=runtime,
            policy=policy,
            signed=receipt,
            repo_id=repo_id,
            uploader_id=uploader_name,
            revision=revision,
            same_content_as=same_content_as(runtime, repo_id, info),
        )
    answer = run_check(
        session=session,
        runtime=runtime,
        actor="system",
        request=request,
        images=images,
        source=HUB_SOURCE,
        policy=policy,
        card_datasets=card_datasets(card_metadata(info)),
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
        policy=policy,
        ref=job_id,
        prior=prior,
    )
    return {"decision": answer["decision"], "check_id": answer["check_id"]}


def _release(
    *, session: Session, repo_id: str, revision: str, answer: CheckAnswer, prior: dict, ref
) -> None:
    """Lift hostguard's quarantine: the repo goes back to the settings it had before."""
    repo = find_repo(session, repo_id)
    assert repo is not None  # the check that asked for this made it
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
                f"{visibility_of(prior)}."
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


def _case_category(answer: CheckAnswer, policy: Policy) -> str:
    """The matched list's category when images matched; `other` for missing KYU/certifications."""
    for match in answer.get("matches") or []:
        if match.get("category") and match["category"] != "default":
            return policy.case_category(match["category"])
    return "other"


def _action_key(kind: str, repo_id: str, revision: str, ref) -> str:
    """One platform action of this kind per check job (see `_check_job`)."""
    return f"hf-{kind}:" + hashlib.sha256(f"{repo_id}\0{revision}\0{ref}".encode()).hexdigest()[:40]


def _quarantine(
    *,
    session: Session,
    runtime: Runtime,
    repo_id: str,
    revision: str,
    answer: CheckAnswer,
    image_paths: list[str],
    policy: Policy,
    ref: int | None = None,
    prior: dict | None = None,
) -> None:
    repo = find_repo(session, repo_id)
    assert repo is not None  # the check that asked for this made it
    matched = {m["path"] for m in answer.get("matches") or [] if m.get("path")}
    # The console shows sample images from the Hub's own URLs (hostguard keeps no image);
    # matched images are listed separately and never displayed.
    case = open_case(
        session=session,
        repo=repo,
        source=CaseSource.UPLOAD_CHECK,
        category=_case_category(answer, policy),
        actor="system",
        kind="upload_check",
        ref=f"check:{answer['check_id']}",
        details={
            "revision": revision,
            "decision": answer["decision"],
            "reasons": [r["code"] for r in answer["reasons"]],
            "sample_image_urls": [
                resolve_url(runtime, repo_id, revision, p) for p in image_paths if p not in matched
            ],
            "matched_image_urls": [
                resolve_url(runtime, repo_id, revision, p) for p in image_paths if p in matched
            ],
        },
        automated=True,
        summary=f"{repo_id}@{revision[:12]} failed the upload check",
        policy=policy,
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


@handler(CHECK_JOB)
def _check_job(*, session, payload, job, runtime: Runtime) -> None:
    # The job id keys the platform actions: a job's database writes commit once, with its DONE
    # mark, while a later check of the same revision (the visibility flipped back) acts again.
    args = {k: payload[k] for k in ("repo_id", "revision")}
    job.payload = {
        **payload,
        "result": check_hub_revision(session=session, runtime=runtime, job_id=job.id, **args),
    }
