"""The decisions a moderator can take and what each one means: platform action, DSA measure, wording."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(frozen=True)
class Measure:
    """What a decision does on the platform and how the DSA describes it."""

    action: DecisionAction
    restricts: bool  # Art. 17: a restriction needs a statement of reasons to the uploader
    platform_actions: tuple[str, ...]  # hostguard.platform.actions.ACTION_KINDS, applied in order
    reverse_actions: tuple[str, ...]  # what undoes it when an appeal overturns the decision
    description: str  # "type of measure" in the statement of reasons
    closes_case: bool = True


MEASURES: dict[DecisionAction, Measure] = {
    DecisionAction.NO_ACTION: Measure(
        DecisionAction.NO_ACTION, False, (), (), "No action: the model stays available as it is."),
    DecisionAction.RESTRICT: Measure(
        DecisionAction.RESTRICT, True, ("restrict",), ("restore",),
        "Restriction of the model's visibility: access is gated or the model is labelled."),
    DecisionAction.TAKE_DOWN: Measure(
        DecisionAction.TAKE_DOWN, True, ("take_down",), ("restore",),
        "Removal of the model repository from the platform."),
    DecisionAction.SUSPEND_UPLOADER: Measure(
        DecisionAction.SUSPEND_UPLOADER, True, ("take_down", "suspend_uploader"),
        ("restore", "reinstate_uploader"),
        "Removal of the model repository and suspension of the uploader's account."),
    DecisionAction.ESCALATE: Measure(
        DecisionAction.ESCALATE, False, (), (), "Escalated for review by a senior moderator or legal.",
        closes_case=False),
    DecisionAction.REPORT: Measure(
        DecisionAction.REPORT, True, ("take_down",), ("restore",),
        "Access to the model disabled; the evidence is preserved and reported to the competent authorities."),
}


def measure_for(action: str) -> Measure:
    return MEASURES[DecisionAction(action)]


def restrict_description(mode: str | None) -> str:
    if mode == RestrictMode.LABEL:
        return "The model is labelled with a warning; it stays available."
    return "Access to the model is gated: people must accept conditions before they can download it."
