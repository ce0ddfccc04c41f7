"""A hash list that changes re-matches the past: every new hit on a published model opens a case.

When a list gains entries (an import, a re-upload ban), the kept hashes of past sample images
and videos are matched against it as live scans match (`hostguard.hashing.service.
new_retroactive_matches`, queued as the `hashing.rematch` job in the transaction that changed
the list); a model still up gets a case. Where the policy's category rule says
`retroactive: quarantine` (shipped for child sexual abuse) the model is also quarantined at
once; either way the check that allowed the sample changes its decision and the platform hears
`upload.decision_changed`. A match found only through a flat image's low-quality PDQ hash is
for a moderator: its case says so, the check is held, nothing is quarantined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from hostguard.audit.service import record
from hostguard.cases.intake import open_case
from hostguard.cases.models import CaseSource
from hostguard.hashing.algorithms import get_algorithm
from hostguard.hashing.models import HashList
from hostguard.hashing.service import (
    REMATCH_JOB,
    RetroactiveMatch,
    new_retroactive_matches,
    record_retroactive_match,
    sample_is_video,
)
from hostguard.jobs.service import handler
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import ModelRepo, RepoStatus
from hostguard.policy import MatchAction, Policy
from hostguard.workflows.decision_events import retroactive_decision

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


def rematch_list(
    *,
    session: Session,
    list_id: int,
    policy: Policy,
    actor: str = "system",
    runtime: Runtime | None = None,
) -> int:
    """Match every kept sample hash against one list; each new hit opens a case (and quarantines
    the model where the policy says so). Returns hits. With `runtime`, the checks whose decision
    changes announce it (`upload.decision_changed`)."""
    hash_list = session.get(HashList, list_id)
    if hash_list is None:
        return 0
    hits = 0
    for match in new_retroactive_matches(session=session, hash_list=hash_list, policy=policy):
        sample = match.sample
        repo = session.get(ModelRepo, sample.repo_pk)
        case_id = None
        if repo is not None and repo.status != RepoStatus.TAKEN_DOWN:
            video = sample_is_video(session, sample)  # by vPDQ or by its digest: a video
            case = open_case(
                session=session,
                repo=repo,
                source=CaseSource.RETROACTIVE_MATCH,
                category=match.category or hash_list.category,  # open_case files aliases
                actor=actor,
                kind="hash_match",
                ref=f"sample:{sample.id}",
                details={
                    "list": hash_list.name,
                    "algorithm": hash_list.algorithm,
                    "distance": match.distance,
                    "threshold": match.threshold,
                    "entry": match.entry_name,
                    # what `false_match` suppresses: a sample video's identity is not the
                    # entry's hash; an id, never the hash itself
                    "entry_id": match.entry_id,
                    "path": sample.path,
                    "revision": sample.revision,
                    "low_quality": match.low_quality,
                },
                automated=True,
                summary=_summary(sample, hash_list, match, video=video),
                policy=policy,
            )
            case_id = case.id
            hits += 1
            category = match.category or hash_list.category
            # a flat image's match (a low-quality PDQ hash, at the stricter threshold) is for a
            # moderator to judge: it holds, never quarantines or blocks, as in a live check
            quarantined = False
            if (
                not match.low_quality
                and policy.retroactive_measure(category) == "quarantine"
                and repo.status == RepoStatus.ACTIVE
            ):
                quarantine_published(
                    session, repo=repo, case_id=case.id, list_name=hash_list.name, actor=actor
                )
                quarantined = True
            retroactive_decision(
                session,
                runtime=runtime,
                check_ref=sample.ref,
                repo=repo,
                action=MatchAction.HOLD
                if match.low_quality
                else policy.match_action(category=category, list_action=hash_list.action),
                measure="quarantine" if quarantined else None,
                low_quality=match.low_quality,
                noun="video" if video else "image",
            )
        record_retroactive_match(session, match, case_id=case_id)
    session.flush()
    if hits:
        record(
            session,
            actor=actor,
            action="hashlist.rematch",
            subject=f"hashlist:{hash_list.name}",
            details={"new_hits": hits, "version": hash_list.version},
        )
    return hits


def _summary(sample, hash_list: HashList, match: RetroactiveMatch, *, video: bool) -> str:
    """The case's one line: what matched (a video, whichever of its hashes did; an image, or
    an image's file by its digest), and when only a flat image's hash did, that."""
    kind = "video" if video else "file" if get_algorithm(sample.algorithm).exact else "image"
    what = f"A past sample {kind} ({sample.path[:200]})"
    if match.low_quality:
        return (
            f"{what} comes close to hash list {hash_list.name} through a low-quality PDQ hash "
            "(a flat image): for review, not acted on automatically"
        )
    return f"{what} matches hash list {hash_list.name}"


@handler(REMATCH_JOB)
def _rematch_job(*, session, payload, job, runtime: Runtime) -> None:
    rematch_list(
        session=session, list_id=int(payload["list_id"]), policy=runtime.policy, runtime=runtime
    )


def quarantine_published(
    session: Session, *, repo: ModelRepo, case_id: int | None, list_name: str, actor: str
) -> None:
    """Hide a published model at once (the platform's actioner), pending the case's decision."""
    repo.status = RepoStatus.QUARANTINED
    queue_action(
        session,
        PlatformAction(
            kind="quarantine",
            repo_id=repo.repo_id,
            repo_type=repo.repo_type,
            case_id=case_id,
            message="A sample image or video of this model matches a hash list of illegal "
            "content; the model is hidden until a moderator has reviewed it.",
            extra={"retroactive": True},
        ),
        dedupe_key=f"retroactive:case:{case_id}:quarantine",
    )
    record(
        session,
        actor=actor,
        action="repo.quarantine",
        subject=f"repo:{repo.repo_id}",
        details={"case": case_id, "cause": "retroactive_match", "list": list_name},
    )
