"""Decision events: a platform learns every upload-check decision, and every later change of it,
from signed webhooks instead of polling.

`upload.decision` announces a check's first decision; `upload.decision_changed` each later one:
held → allowed once the uploader's KYU is verified and their statements signed (re-evaluated
here without a new request from the platform), allowed → blocked or held on a retroactive
hash-list match (with `measure: quarantine` when the policy quarantines the model at once).

Each event has a stable id (the check id and the decision's sequence number; it is also the
delivery id), and one repository's events go out one at a time in the order they happened
(`ordering_key`), retried while the receiver is down.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.jobs.service import handler
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.webhooks import send_event
from hostguard.policy import MatchAction, Policy
from hostguard.uploads.certifications import declared_watermark_method
from hostguard.uploads.check import evaluate, hash_match_reason, reason
from hostguard.uploads.models import CheckDecision, UploadCheck
from hostguard.uploads.rechecks import DECISION_RECHECK_JOB, HUB_SOURCE
from hostguard.uploads.watermark import CHECKABLE_METHODS

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

DECISION_EVENT = "upload.decision"
DECISION_CHANGED_EVENT = "upload.decision_changed"
MAX_RECHECKS = 200  # held checks one finished step re-evaluates


def event_id(check_id: str, sequence: int) -> str:
    """The event's id: the same for the same decision of the same check, whoever asks."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostguard:check:{check_id}:decision:{sequence}"))


def repo_ordering_key(repo: ModelRepo) -> str:
    return f"repo:{repo.repo_type}/{repo.repo_id}"


def announce_decision(
    session: Session,
    *,
    runtime: Runtime,
    check: UploadCheck,
    repo: ModelRepo,
    previous: str | None,
    cause: str,
    measure: str | None = None,
) -> str:
    """Queue the event for the check's current decision (its stored answer); returns its id."""
    sequence = check.decision_seq + 1
    check.decision_seq = sequence
    uploader = session.get(Uploader, check.uploader_pk) if check.uploader_pk else None
    answer: dict[str, Any] = check.answer or {}
    payload = {
        "event_id": event_id(check.check_id, sequence),
        "sequence": sequence,
        "check_id": check.check_id,
        "repo": {"id": repo.repo_id, "type": repo.repo_type},
        "revision": check.revision,
        "visibility": check.visibility,
        "uploader_id": uploader.platform_id if uploader else None,
        "decision": check.decision,
        "previous_decision": previous,
        "reasons": check.reasons or [],
        "required_steps": answer.get("required_steps", []),
        "cause": cause,
        "measure": measure,
        "policy": {"id": check.policy_id, "version": check.policy_version},
        "at": utcnow().isoformat(),
    }
    kind = DECISION_EVENT if sequence == 1 else DECISION_CHANGED_EVENT
    send_event(
        session,
        runtime=runtime,
        event=kind,
        payload=payload,
        delivery_id=payload["event_id"],
        ordering_key=repo_ordering_key(repo),
    )
    return payload["event_id"]


def store_answer(
    session: Session,
    *,
    actor: str,
    check: UploadCheck,
    repo: ModelRepo,
    answer: dict[str, Any],
    policy: Policy | None,
    source: str,
    previous: str | None,
    audit: bool = True,
    **details: Any,
) -> None:
    """Writes an answer onto its check and, when `audit`, the `upload.check` audit record that
    says what was decided, why, under which policy and what it replaces. Every path that
    decides a check (a platform's check, a recheck, a retroactive match) stores it here."""
    check.decision = answer["decision"]
    check.reasons = answer["reasons"]
    check.answer = dict(answer)
    if policy is not None:
        check.policy_id, check.policy_version = policy.id, policy.version
    check.updated_at = utcnow()
    if not audit:
        return
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
            **({"policy": policy.ref} if policy is not None else {}),
            "source": source,
            "previous": previous,
            **details,
        },
    )


def check_status(session: Session, check: UploadCheck) -> dict[str, Any]:
    """What `GET /api/v1/uploads/checks/{id}` answers: the stored answer and where it stands."""
    repo = session.get(ModelRepo, check.repo_pk)
    return {
        **(check.answer or {}),
        "check_id": check.check_id,
        "decision": check.decision,
        "reasons": check.reasons or [],
        "repo": {"id": repo.repo_id, "type": repo.repo_type} if repo else None,
        "revision": check.revision,
        "visibility": check.visibility,
        "sequence": check.decision_seq,
        "created_at": check.created_at.isoformat(),
        "updated_at": check.updated_at.isoformat(),
    }


def reevaluate_held_check(
    session: Session, *, runtime: Runtime, check: UploadCheck, policy: Policy, actor: str
) -> bool:
    """Decide a held check again from the uploader's current state; announce a change.

    A check held on a retroactive match is left as it is (the match is not among the check's
    own matches, which `evaluate` reads). A check whose uploader just declared a checkable
    watermark method for sample images the platform sent is left as it is: the images are not
    kept, so the platform asks again with them (its answer then announces the change).
    Returns whether the decision changed.
    """
    repo = session.get(ModelRepo, check.repo_pk)
    uploader = session.get(Uploader, check.uploader_pk) if check.uploader_pk else None
    if repo is None or uploader is None:
        return False
    method = declared_watermark_method(
        session, uploader=uploader, repo=repo, revision=check.revision, policy=policy
    )
    if (
        method in CHECKABLE_METHODS
        and check.image_count
        and (check.watermark or {}).get("method") != method
    ):
        return False
    if any(r.get("code") == "documentation_required" for r in check.reasons or []):
        return False  # the model card is not kept: a fixed card comes with a new check
    if any(r.get("code") == "retroactive_match" for r in check.reasons or []):
        return False  # held on a match found later (not in its matches): a moderator decides
    answer = evaluate(
        session=session,
        runtime=runtime,
        actor=actor,
        check=check,
        uploader=uploader,
        repo=repo,
        policy=policy,
        images=[],
        documentation=False,  # complete when the platform sent the card (checked above)
    )
    if answer["decision"] == check.decision:
        return False
    previous = check.decision
    store_answer(
        session,
        actor=actor,
        check=check,
        repo=repo,
        answer=dict(answer),
        policy=policy,
        source="recheck",
        previous=previous,
    )
    announce_decision(
        session, runtime=runtime, check=check, repo=repo, previous=previous, cause="uploader_steps"
    )
    return True


@handler(DECISION_RECHECK_JOB)
def _recheck_decisions(*, session, payload, job, runtime: Runtime) -> None:
    held = select(UploadCheck).where(
        UploadCheck.decision == CheckDecision.HOLD, UploadCheck.source != HUB_SOURCE
    )
    if payload.get("uploader_pk") is not None:
        held = held.where(UploadCheck.uploader_pk == payload["uploader_pk"])
    if payload.get("repo_pk") is not None:
        held = held.where(UploadCheck.repo_pk == payload["repo_pk"])
    if payload.get("revision") is not None:
        held = held.where(UploadCheck.revision == payload["revision"])
    checks = session.exec(held.order_by(col(UploadCheck.id)).limit(MAX_RECHECKS)).all()
    policy = runtime.policy
    for check in checks:
        reevaluate_held_check(session, runtime=runtime, check=check, policy=policy, actor="system")


def retroactive_decision(
    session: Session,
    *,
    runtime: Runtime | None,
    check_ref: str | None,
    repo: ModelRepo,
    action: MatchAction,
    measure: str | None,
    low_quality: bool = False,
    noun: str = "image",
) -> bool:
    """A published sample now matches a list: the check that allowed it blocks (or holds), and
    the platform hears `upload.decision_changed`. Returns whether the decision changed.

    The answer gains the reason a live check gives for the match (`hash_match`, or
    `hash_match_low_quality` for a flat image's PDQ hash, which only holds) and then
    `retroactive_match`, saying it was found after the check; `noun` names the sample
    (`image`, `video`)."""
    if not check_ref or not check_ref.startswith("check:"):
        return False
    check = session.exec(
        select(UploadCheck).where(UploadCheck.check_id == check_ref.removeprefix("check:")[:36])
    ).first()
    if check is None or check.decision != CheckDecision.ALLOW:
        return False
    if action == MatchAction.BLOCK and not low_quality:
        decision = CheckDecision.BLOCK
    elif action in (MatchAction.BLOCK, MatchAction.HOLD) or measure == "quarantine":
        decision = CheckDecision.HOLD
    else:
        return False  # a `record` category: the case is enough, the decision stands
    previous = check.decision
    found = hash_match_reason(low_quality=low_quality, noun=noun)
    after = reason(
        "retroactive_match",
        f"A sample {noun} of this upload matches a hash list that changed after the check; "
        "the upload was referred to the moderation team.",
    )
    reasons = [*(check.reasons or [])]
    reasons += [r for r in (found, after) if r["code"] not in {k.get("code") for k in reasons}]
    store_answer(
        session,
        actor="system",
        check=check,
        repo=repo,
        answer={**(check.answer or {}), "decision": str(decision), "reasons": reasons},
        policy=None,
        source="retroactive_match",
        previous=previous,
        measure=measure,
    )
    if runtime is not None:
        announce_decision(
            session,
            runtime=runtime,
            check=check,
            repo=repo,
            previous=previous,
            cause="retroactive_match",
            measure=measure,
        )
    return True
