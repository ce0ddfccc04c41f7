"""Asking the Hub check again when an uploader finishes a step the webhook held them for.

When legal verifies an uploader's identity, or the uploader certifies a revision, the Hub
check that held the repository is queued again (`integrations.hf_check`), so the quarantine
lifts without a new push.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlmodel import Session, col, select

from hostguard.jobs.models import Job, JobStatus
from hostguard.jobs.service import enqueue
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.uploads.models import CheckDecision, UploadCheck

HUB_SOURCE = "huggingface_webhook"  # checks the Hub webhook's job ran (integrations.hf_check)
# held checks the platform asked through the API, decided again (hostguard.workflows.decision_events)
DECISION_RECHECK_JOB = "uploads.recheck_decisions"


KYU_REASONS = (
    "kyu_required",
    "kyu_pending",
    "kyu_rejected",
    "kyu_expired",
    "kyu_needs_information",
)


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
    repo_pks: Sequence[int | None]
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
            UploadCheck.decision != CheckDecision.ALLOW,
        )
        if revision is not None:
            held = held.where(UploadCheck.revision == revision)
        if uploader is not None:
            held = held.where(UploadCheck.uploader_pk == uploader.id)
        latest = session.exec(held.order_by(col(UploadCheck.id).desc())).first()
        if latest is None:
            continue
        if reasons and not any(r.get("code") in reasons for r in latest.reasons or []):
            continue
        if repo is not None:
            repo_id = repo.repo_id
        else:
            held_repo = session.get(ModelRepo, repo_pk)
            assert held_repo is not None  # upload_checks.repo_pk is a foreign key to it
            repo_id = held_repo.repo_id
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


def recheck_held_decisions(
    session: Session,
    *,
    ref: str,
    uploader: Uploader | None = None,
    repo: ModelRepo | None = None,
    revision: str | None = None,
) -> None:
    """Queue a new decision for the held API checks a finished step may release (the uploader's,
    or the repository's revision), so the platform hears `upload.decision_changed` without
    asking again. `ref` names what changed (a certification, a KYU verification)."""
    enqueue(
        session,
        DECISION_RECHECK_JOB,
        {
            "uploader_pk": uploader.id if uploader else None,
            "repo_pk": repo.id if repo else None,
            "revision": revision,
        },
        dedupe_key=f"decision-recheck:{ref}"[:200],
    )
