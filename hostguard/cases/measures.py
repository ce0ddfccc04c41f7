"""The decisions a moderator can take and what each one means: platform action, DSA measure, wording."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from hostguard.audit.service import record
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import RepoStatus


class DecisionAction(StrEnum):
    NO_ACTION = "no_action"
    RESTRICT = "restrict"  # gate or label
    TAKE_DOWN = "take_down"
    SUSPEND_UPLOADER = "suspend_uploader"
    ESCALATE = "escalate"  # to a senior moderator or legal
    REPORT = "report"  # report to the authorities (and disable access, evidence kept)


class Ground(StrEnum):
    ILLEGAL_CONTENT = "illegal_content"
    TERMS_OF_SERVICE = "terms_of_service"


class RestrictMode(StrEnum):
    GATE = "gate"
    LABEL = "label"


class EscalationTarget(StrEnum):
    SENIOR = "senior"
    LEGAL = "legal"


# decisions whose sample-image hashes go on the internal re-upload lists
REUPLOAD_ACTIONS = frozenset(
    {DecisionAction.TAKE_DOWN, DecisionAction.SUSPEND_UPLOADER, DecisionAction.REPORT}
)


@dataclass(frozen=True)
class Measure:
    """What a decision does on the platform and how the DSA describes it."""

    action: DecisionAction
    restricts: bool  # Art. 17: a restriction needs a statement of reasons to the uploader
    platform_actions: tuple[str, ...]  # hostguard.platform.actions.ACTION_KINDS, applied in order
    reverse_actions: tuple[str, ...]  # what undoes it when an appeal overturns the decision
    description: str  # "type of measure" in the statement of reasons
    closes_case: bool = True
    # what lifts an interim quarantine (the Hub webhook hid the repo pending review) when the
    # decision leaves the model as it is; a restricting measure replaces the quarantine itself
    release_actions: tuple[str, ...] = ()


MEASURES: dict[DecisionAction, Measure] = {
    DecisionAction.NO_ACTION: Measure(
        DecisionAction.NO_ACTION,
        False,
        (),
        (),
        "No action: the model stays available as it is.",
        release_actions=("restore",),
    ),
    DecisionAction.RESTRICT: Measure(
        DecisionAction.RESTRICT,
        True,
        ("restrict",),
        ("restore",),
        "Restriction of the model's visibility: access is gated or the model is labelled.",
    ),
    DecisionAction.TAKE_DOWN: Measure(
        DecisionAction.TAKE_DOWN,
        True,
        ("take_down",),
        ("restore",),
        "Removal of the model repository from the platform.",
    ),
    DecisionAction.SUSPEND_UPLOADER: Measure(
        DecisionAction.SUSPEND_UPLOADER,
        True,
        ("take_down", "suspend_uploader"),
        ("restore", "reinstate_uploader"),
        "Removal of the model repository and suspension of the uploader's account.",
    ),
    DecisionAction.ESCALATE: Measure(
        DecisionAction.ESCALATE,
        False,
        (),
        (),
        "Escalated for review by a senior moderator or legal.",
        closes_case=False,
    ),
    DecisionAction.REPORT: Measure(
        DecisionAction.REPORT,
        True,
        ("take_down",),
        ("restore",),
        "Access to the model disabled; the evidence is preserved and reported to the competent authorities.",
    ),
}


def measure_for(action: str) -> Measure:
    return MEASURES[DecisionAction(action)]


def restrict_description(mode: str | None) -> str:
    if mode == RestrictMode.LABEL:
        return "The model is labelled with a warning; it stays available."
    return (
        "Access to the model is gated: people must accept conditions before they can download it."
    )


def release_quarantine(session: Session, *, case, decision, repo, actor: str) -> bool:
    """Lift hostguard's quarantine of `repo` after a decision that leaves the model as it is.

    Queues the measure's release actions (`restore`: the Hub actioner puts back the settings the
    repo had before the quarantine), marks the repo active and writes the audit record, in the
    caller's transaction. Returns False (nothing done) when the repo is not quarantined or the
    decision's measure has nothing to release. Idempotent: the actions carry the decision's key.
    """
    measure = measure_for(decision.action)
    if repo.status != RepoStatus.QUARANTINED or not measure.release_actions:
        return False
    for kind in measure.release_actions:
        queue_action(
            session,
            PlatformAction(
                kind=kind,
                repo_id=repo.repo_id,
                repo_type=repo.repo_type,
                case_id=case.id,
                message=f"Case {case.id} was reviewed: no action. The quarantine is lifted.",
                extra={"decision_id": decision.id, "release": "quarantine"},
            ),
            dedupe_key=f"case:{case.id}:decision:{decision.id}:{kind}",
        )
    repo.status = RepoStatus.ACTIVE
    record(
        session,
        actor=actor,
        action="repo.quarantine_release",
        subject=f"repo:{repo.repo_id}",
        details={
            "case": case.id,
            "decision": decision.id,
            "actions": list(measure.release_actions),
        },
    )
    session.flush()
    return True
