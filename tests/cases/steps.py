"""Steps of the case workflow that several case tests take alike: appeals filed and overturned.

Opening and deciding a case are conftest's fixtures (`notice`, `owned_repo`, `decided`); these
follow on from them, with the same texts and transactions the tests spelled out each time.
"""

from __future__ import annotations

from hostguard.cases.appeals import file_appeal
from hostguard.cases.models import Appeal
from hostguard.workflows.decisions import decide_appeal


def overturn_uploader_appeal(db, runtime, case, senior, explanation: str) -> Appeal:
    """The uploader (`owned_repo()`'s u-alice) appeals the case's decision, committed; `senior`
    overturns it, committed: a take-down is reversed and the case stays decided."""
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="uploader",
        reason="It is satire.",
        actor="uploader:u-alice",
    )
    db.commit()
    return _overturn(db, runtime, appeal, senior, explanation)


def overturn_notifier_appeal(db, runtime, case, notice, senior, explanation: str) -> Appeal:
    """The notifier of `notice` appeals a decision to take no action and `senior` overturns it,
    in one transaction, committed: the case is open again."""
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="notifier",
        notice_id=notice.id,
        reason="It clearly incites hatred.",
        actor="public",
    )
    return _overturn(db, runtime, appeal, senior, explanation)


def _overturn(db, runtime, appeal, senior, explanation: str) -> Appeal:
    decided = decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation=explanation,
    )
    db.commit()
    return decided
