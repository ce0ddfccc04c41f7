"""Decisions that bank hashes: a take-down puts the model's sample images on the re-upload lists,
an appeal that overturns it takes them off again.

`hostguard.hashing.service.add_to_reupload_list` puts a taken-down model's sample-image hashes on
the internal lists with ref `case:<id>`; `remove_from_reupload_list` undoes that. Each list's
version is bumped so every process rebuilds its in-memory index and stops matching the hashes.
`decide` and `decide_appeal` are the case decisions of `hostguard.cases` with this banking
added, in the same transaction: every surface decides through them.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.audit.service import record
from hostguard.cases import appeals as case_appeals
from hostguard.cases import decisions as case_decisions
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.measures import REUPLOAD_ACTIONS
from hostguard.cases.models import Appeal, Case, Decision
from hostguard.db.types import utcnow
from hostguard.hashing.models import (
    REUPLOAD_LIST,
    HashEntry,
    HashList,
    RetroactiveHit,
    SampleImageHash,
)
from hostguard.hashing.service import add_to_reupload_list
from hostguard.platform.models import ModelRepo, RepoStatus
from hostguard.policy import Policy
from hostguard.runtime import Runtime

REUPLOAD_LISTS = (REUPLOAD_LIST, f"{REUPLOAD_LIST}-sha256")
CHUNK = 5000


def _other_holder(session: Session, *, algorithm: str, value: str, case_id: int) -> int | None:
    """Another case whose model is still taken down and had this image, if any."""
    return session.exec(
        select(Case.id)
        .join(ModelRepo, col(ModelRepo.id) == col(Case.repo_pk))
        .join(SampleImageHash, col(SampleImageHash.repo_pk) == col(Case.repo_pk))
        .where(
            Case.id != case_id,
            ModelRepo.status == RepoStatus.TAKEN_DOWN,
            SampleImageHash.algorithm == algorithm,
            SampleImageHash.hash == value,
        )
        .order_by(col(Case.id).desc())
    ).first()


def remove_from_reupload_list(*, session: Session, case_id: int, actor: str) -> int:
    """Delete the entries the case put on the internal re-upload lists; returns how many went.

    An image that another case took down too (a re-upload of the same pictures) stays on the
    list, now carried by that case. Only internal lists are touched: an imported list that happens to use `case:<id>` as an
    entry id is the provider's and stays as it is.
    """
    ref = f"case:{case_id}"
    removed = 0
    lists = session.exec(
        select(HashList).where(
            col(HashList.name).in_(REUPLOAD_LISTS), col(HashList.internal).is_(True)
        )
    ).all()
    for hash_list in lists:
        ids = []
        for entry in session.exec(
            select(HashEntry).where(HashEntry.list_id == hash_list.id, HashEntry.ref == ref)
        ).all():
            holder = _other_holder(
                session, algorithm=hash_list.algorithm, value=entry.hash, case_id=case_id
            )
            if holder is None:
                ids.append(entry.id)
            else:  # the same image was taken down in another case that still stands
                entry.ref = f"case:{holder}"
                session.add(entry)
        if not ids:
            continue
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            session.execute(delete(RetroactiveHit).where(col(RetroactiveHit.entry_id).in_(chunk)))
            session.execute(delete(HashEntry).where(col(HashEntry.id).in_(chunk)))
        hash_list.entry_count = max(0, hash_list.entry_count - len(ids))
        hash_list.version += 1  # other processes see the new version and reload the index
        hash_list.updated_at = utcnow()
        session.add(hash_list)
        removed += len(ids)
    session.flush()
    record(
        session,
        actor=actor,
        action="hashlist.reupload_remove",
        subject=f"case:{case_id}",
        details={"removed": removed},
    )
    return removed


def bank_taken_down_images(session: Session, *, decision: Decision, actor: str) -> int:
    """After a take-down-like decision, put the model's sample-image hashes on the re-upload lists."""
    if decision.action not in REUPLOAD_ACTIONS:
        return 0
    case = session.get(Case, decision.case_id)
    repo = session.get(ModelRepo, case.repo_pk) if case is not None else None
    if case is None or case.id is None or repo is None:
        return 0
    return add_to_reupload_list(
        session=session, repo=repo, actor=actor, case_id=case.id, category=case.category
    )


def decide(
    *,
    session: Session,
    runtime: Runtime,
    case_id: int,
    user: User,
    actor: str,
    data: DecisionInput,
    policy: Policy,
) -> Decision:
    """`hostguard.cases.decisions.decide`, then bank the images of what it took down."""
    decision = case_decisions.decide(
        session=session,
        runtime=runtime,
        case_id=case_id,
        user=user,
        actor=actor,
        data=data,
        policy=policy,
    )
    bank_taken_down_images(session, decision=decision, actor=actor)
    return decision


def decide_appeal(
    *,
    session: Session,
    runtime: Runtime,
    appeal_id: int,
    user: User,
    actor: str,
    outcome: str,
    explanation: str,
) -> Appeal:
    """`hostguard.cases.appeals.decide_appeal`; an overturned take-down leaves the re-upload lists."""
    appeal = case_appeals.decide_appeal(
        session=session,
        runtime=runtime,
        appeal_id=appeal_id,
        user=user,
        actor=actor,
        outcome=outcome,
        explanation=explanation,
    )
    decision = session.get(Decision, appeal.decision_id)
    if (
        decision is not None
        and decision.reversed_by_appeal_id == appeal.id
        and decision.action in REUPLOAD_ACTIONS
    ):
        remove_from_reupload_list(session=session, case_id=decision.case_id, actor=actor)
    return appeal
