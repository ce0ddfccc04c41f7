"""Bulk actions on a selection of cases: assign, release, set priority, decide with a template,
merge duplicates.

Merging is all or nothing (`cases/merge.py::merge_cases`): every case is checked first and a
refusal of any leaves all of them untouched. The other actions are done case by case:

each case is done on its own, exactly as the single action does it (its own statement of
reasons, messages, audit record and Transparency Database entry), inside a SAVEPOINT of the
caller's transaction, committed every `COMMIT_EVERY` cases. A case the domain refuses (claimed by
someone else, a restricted category, already decided, ...) is rolled back to its savepoint, so
it is left untouched while the others stay done, and the outcome says which case was refused and
why. An unexpected error (the database going away) rolls back the cases since the last commit:
before the first commit it propagates (nothing was done), after it the outcome names the cases
done and those not done (`interrupted`). Whatever happens, each case is either fully done or
untouched.

Why commit in chunks: every audit record rewrites the one audit head row (five per decision).
On PostgreSQL each later locked read of that row inside the same transaction checks the earlier
versions of it, each written in its own savepoint's subtransaction, so in one transaction a case
costs more the more cases came before it (`docs/benchmarks/index.md`, "Bulk decisions"). Decisions go through
`workflows.decisions.decide`, so taken-down images are banked as for a single decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlmodel import Session

from hostguard.accounts.models import User
from hostguard.cases.claims import claim_case, reassign_case, release_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.merge import merge_cases
from hostguard.cases.queue import set_priority
from hostguard.errors import HostguardError, InvalidInput
from hostguard.policy import Policy
from hostguard.workflows.decisions import decide

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BULK = 1000
COMMIT_EVERY = 25  # cases per transaction; fewer than PostgreSQL's 64 cached subtransactions


class BulkKind(StrEnum):
    ASSIGN = "assign"
    RELEASE = "release"
    SET_PRIORITY = "set_priority"
    DECIDE = "decide"
    MERGE = "merge"


@dataclass(frozen=True)
class BulkOutcome:
    case_id: int
    done: bool
    code: str | None = None  # why it was refused
    message: str | None = None
    decision_id: int | None = None


@dataclass(frozen=True)
class BulkRequest:
    kind: str
    case_ids: list[int]
    user_id: int | None = None  # assign: to whom
    priority: int | None = None  # set_priority
    decision: DecisionInput | None = None  # decide: usually just a template, maybe edited
    reason: str = ""
    into: int | None = None  # merge: the case that survives


def check_bulk(request: BulkRequest, *, policy: Policy) -> BulkKind:
    """What a bulk request lacks, all at once, before any case is touched."""
    problems = []
    try:
        kind = BulkKind(request.kind)
    except ValueError:
        raise InvalidInput(
            "choose a bulk action: assign, release, set_priority, decide or merge",
            code="invalid_bulk",
        ) from None
    if not request.case_ids:
        problems.append("select at least one case")
    if len(request.case_ids) > MAX_BULK:
        problems.append(f"select at most {MAX_BULK} cases at a time")
    if kind == BulkKind.ASSIGN and request.user_id is None:
        problems.append("choose who gets the cases")
    if kind == BulkKind.SET_PRIORITY and request.priority is None:
        problems.append("give the new priority")
    if kind == BulkKind.MERGE and (request.into is None or request.into not in request.case_ids):
        problems.append("choose which of the selected cases to keep (the others merge into it)")
    if kind == BulkKind.DECIDE:
        data = request.decision
        if data is None or not (data.template or data.action):
            problems.append("choose a decision template")
        elif data.template:
            policy.moderation.template(data.template)  # InvalidInput naming the known ones
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_bulk")
    return kind


def bulk_action(
    *,
    session: Session,
    runtime: Runtime,
    user: User,
    actor: str,
    request: BulkRequest,
    policy: Policy,
) -> list[BulkOutcome]:
    """Do `request` to each selected case in its own savepoint; the outcome of each, in order."""
    kind = check_bulk(request, policy=policy)
    if kind == BulkKind.MERGE:
        assert request.into is not None  # check_bulk
        merge_cases(
            session=session,
            runtime=runtime,
            into=request.into,
            case_ids=request.case_ids,
            user=user,
            actor=actor,
            policy=policy,
            reason=request.reason,
        )
        return [BulkOutcome(i, True) for i in dict.fromkeys(request.case_ids)]
    ids = list(dict.fromkeys(request.case_ids))  # each case once, in the order given
    outcomes: list[BulkOutcome] = []
    committed = 0  # outcomes[:committed] are committed
    for case_id in ids:
        try:
            with session.begin_nested():
                decision_id = _one(
                    session,
                    runtime,
                    kind,
                    case_id,
                    user=user,
                    actor=actor,
                    request=request,
                    policy=policy,
                )
        except HostguardError as exc:
            outcomes.append(BulkOutcome(case_id, False, exc.code, exc.message))
        except Exception:
            if not committed:
                raise
            log.exception("bulk %s stopped after %d of %d cases", kind.value, committed, len(ids))
            session.rollback()
            return outcomes[:committed] + [
                BulkOutcome(
                    left, False, "interrupted", "not done: the bulk action stopped on an error"
                )
                for left in ids[committed:]
            ]
        else:
            outcomes.append(BulkOutcome(case_id, True, decision_id=decision_id))
        if len(outcomes) % COMMIT_EVERY == 0 and len(outcomes) < len(ids):
            session.commit()
            committed = len(outcomes)
    return outcomes


def _one(
    session: Session,
    runtime: Runtime,
    kind: BulkKind,
    case_id: int,
    *,
    user: User,
    actor: str,
    request: BulkRequest,
    policy: Policy,
) -> int | None:
    if kind == BulkKind.ASSIGN:
        assert request.user_id is not None  # check_bulk
        reassign_case(
            session=session,
            case_id=case_id,
            to_user_id=request.user_id,
            user=user,
            actor=actor,
            policy=policy,
            reason=request.reason,
        )
    elif kind == BulkKind.RELEASE:
        release_case(session=session, case_id=case_id, user=user, actor=actor)
    elif kind == BulkKind.SET_PRIORITY:
        assert request.priority is not None  # check_bulk
        set_priority(
            session=session,
            case_id=case_id,
            priority=request.priority,
            actor=actor,
            reason=request.reason,
        )
    else:
        assert request.decision is not None  # check_bulk
        claim_case(session=session, case_id=case_id, user=user, actor=actor, policy=policy)
        decision = decide(
            session=session,
            runtime=runtime,
            case_id=case_id,
            user=user,
            actor=actor,
            data=replace(request.decision),
            policy=policy,
        )
        return decision.id
    return None
