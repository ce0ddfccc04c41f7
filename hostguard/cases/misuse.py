"""Art. 23 misuse rules as plain arithmetic: strikes against uploaders, standing of notifiers."""

from __future__ import annotations

from enum import StrEnum

from hostguard.cases.policy import MisusePolicy


class Standing(StrEnum):
    OK = "ok"
    WARN = "warn"
    SUSPEND = "suspend"


def uploader_outcome(strikes: int, *, already_warned: bool, policy: MisusePolicy) -> Standing:
    """After a strike: warn first, suspend once the threshold is reached and a warning was given."""
    if strikes >= policy.uploader_suspend_at and already_warned:
        return Standing.SUSPEND
    if strikes >= policy.uploader_warn_at and not already_warned:
        return Standing.WARN
    return Standing.OK


def unfounded_share(decided: int, unfounded: int) -> float:
    return unfounded / decided if decided else 0.0


def notifier_outcome(
    decided: int, unfounded: int, *, already_warned: bool, policy: MisusePolicy
) -> Standing:
    """A notifier whose decided notices are mostly unfounded is warned, then suspended."""
    if (
        decided < policy.notifier_min_notices
        or unfounded_share(decided, unfounded) <= policy.notifier_unfounded_share
    ):
        return Standing.OK
    return Standing.SUSPEND if already_warned else Standing.WARN


def notifier_penalty(
    decided: int, unfounded: int, *, policy: MisusePolicy, penalty: int = 100
) -> int:
    """Priority points taken off a notifier's new notices: nothing until their record says otherwise."""
    if decided < policy.notifier_min_notices:
        return 0
    return int(round(penalty * unfounded_share(decided, unfounded)))
