"""Case-handling policy: queue deadlines, misuse thresholds, legal hold and appeal windows.

Queue deadlines come from the platform policy file (`deadlines:` rules and
`default_deadline_hours`, read by hostguard.uploads.policy); until a policy names them, the
defaults below apply. Misuse thresholds, the legal-hold period and intake limits are defaults
here (the policy file has no section for them yet).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# The policy file's hash-list category names, as case categories.
CATEGORY_ALIASES = {"csam": "child_sexual_abuse", "ncii": "non_consensual_intimate_imagery"}

# (source, category, hours); the first matching rule wins, "*" matches anything.
DEFAULT_DEADLINE_RULES: tuple[tuple[str, str, int], ...] = (
    ("order", "*", 24),
    ("*", "child_sexual_abuse", 24),
    ("hash_match", "*", 24),
    ("*", "terrorism", 24),
    ("trusted_flagger", "*", 48),
    ("*", "non_consensual_intimate_imagery", 48),
    ("retroactive_match", "*", 72),
    ("upload_check", "*", 72),
)
DEFAULT_DEADLINE_HOURS = 168


@dataclass(frozen=True)
class MisusePolicy:
    """Art. 23: warn, then suspend, uploaders with manifestly illegal content and notifiers whose
    notices are mostly unfounded."""

    uploader_warn_at: int = 1  # strikes
    uploader_suspend_at: int = 3
    uploader_suspension_days: int = 30
    notifier_min_notices: int = 5  # judge a notifier only after this many decided notices
    notifier_unfounded_share: float = 0.7  # warn above this share of unfounded notices
    notifier_suspension_days: int = 90


@dataclass(frozen=True)
class CasePolicy:
    deadline_rules: tuple[tuple[str, str, int], ...] = DEFAULT_DEADLINE_RULES
    default_deadline_hours: int = DEFAULT_DEADLINE_HOURS
    misuse: MisusePolicy = field(default_factory=MisusePolicy)
    legal_hold_days: int = 365  # REPORT Act: preserve a CyberTipline report's contents for a year
    appeal_months: int = 6  # Art. 20: at least six months
    public_notices_per_hour: int = (
        10  # per client address, checked in the domain as well as the web
    )
    max_notice_items: int = 20
    max_explanation_chars: int = 5000

    def deadline_hours(self, *, category: str, source: str) -> int:
        for rule_source, rule_category, hours in self.deadline_rules:
            rule_category = CATEGORY_ALIASES.get(rule_category, rule_category)
            if rule_source in ("*", source) and rule_category in ("*", category):
                return hours
        return self.default_deadline_hours


def case_policy(platform_policy: Any | None = None, **overrides: Any) -> CasePolicy:
    """The case policy from a parsed platform policy (hostguard.uploads.policy.Policy) or the defaults."""
    values: dict[str, Any] = {}
    if platform_policy is not None and getattr(platform_policy, "deadlines", None):
        values["deadline_rules"] = tuple(
            (r.source, r.category, r.hours) for r in platform_policy.deadlines
        )
    if platform_policy is not None and getattr(platform_policy, "default_deadline_hours", None):
        values["default_deadline_hours"] = platform_policy.default_deadline_hours
    values.update(overrides)
    if values.get("appeal_months", 6) < 6:
        values["appeal_months"] = 6
    return CasePolicy(**values)


def policy_for(runtime: Any | None) -> CasePolicy:
    """The case policy in force for this runtime; the defaults if no policy can be read."""
    try:
        from hostguard.uploads.policy import policy_for as platform_policy_for

        return (
            case_policy(platform_policy_for(runtime))
            if runtime is not None
            else case_policy(_default_platform_policy())
        )
    except Exception as exc:  # a broken policy file must not stop notices from being taken in
        log.warning("policy unreadable, using case defaults: %s", exc)
        return case_policy()


def _default_platform_policy():
    from hostguard.uploads.policy import load_policy

    return load_policy(None)
