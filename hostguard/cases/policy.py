"""Case-handling policy: queue deadlines, misuse thresholds, legal hold and appeal windows.

Defaults live here; the platform's policy file can override them under a top-level `cases:`
key (see docs/readme/cases.md), e.g. ``cases: {deadlines: {sources: {notice: 72}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Hours from opening to the deadline, per source and per category; the stricter one applies.
DEFAULT_SOURCE_DEADLINES = {
    "order": 24,
    "hash_match": 24,
    "trusted_flagger": 48,
    "retroactive_match": 72,
    "upload_check": 72,
    "notice": 168,
    "own_initiative": 168,
}
DEFAULT_CATEGORY_DEADLINES = {
    "child_sexual_abuse": 24,
    "terrorism": 24,
    "non_consensual_intimate_imagery": 48,
}


@dataclass(frozen=True)
class MisusePolicy:
    """Art. 23: warn, then suspend, uploaders with manifestly illegal content and notifiers whose
    notices are mostly unfounded."""

    uploader_warn_at: int = 1  # strikes
    uploader_suspend_at: int = 3
    uploader_suspension_days: int = 30
    strike_window_days: int = 365
    notifier_min_notices: int = 5  # judge a notifier only after this many decided notices
    notifier_unfounded_share: float = 0.7  # warn above this share of unfounded notices
    notifier_suspension_days: int = 90


@dataclass(frozen=True)
class CasePolicy:
    source_deadlines: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SOURCE_DEADLINES))
    category_deadlines: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_DEADLINES))
    misuse: MisusePolicy = field(default_factory=MisusePolicy)
    legal_hold_days: int = 365  # REPORT Act: preserve a CyberTipline report's contents for a year
    appeal_months: int = 6  # Art. 20: at least six months
    public_notices_per_hour: int = 20  # per IP address
    max_notice_items: int = 20
    max_explanation_chars: int = 5000
    raw: Mapping[str, Any] = field(default_factory=dict)  # the whole policy, for categories

    def deadline_hours(self, *, category: str, source: str) -> int:
        hours = [h for h in (self.source_deadlines.get(source), self.category_deadlines.get(category)) if h]
        return min(hours) if hours else DEFAULT_SOURCE_DEADLINES["notice"]


def case_policy(policy: Mapping[str, Any] | None = None) -> CasePolicy:
    """Build the case policy from a parsed policy document (or the defaults)."""
    policy = policy or {}
    section = policy.get("cases") or {}
    deadlines = section.get("deadlines") or {}
    misuse = section.get("misuse") or {}
    known_misuse = {f for f in MisusePolicy.__dataclass_fields__}
    limits = section.get("limits") or {}
    return CasePolicy(
        source_deadlines={**DEFAULT_SOURCE_DEADLINES, **{k: int(v) for k, v in (deadlines.get("sources") or {}).items()}},
        category_deadlines={**DEFAULT_CATEGORY_DEADLINES,
                            **{k: int(v) for k, v in (deadlines.get("categories") or {}).items()}},
        misuse=MisusePolicy(**{k: v for k, v in misuse.items() if k in known_misuse}),
        legal_hold_days=int(section.get("legal_hold_days", 365)),
        appeal_months=max(6, int(section.get("appeal_months", 6))),
        public_notices_per_hour=int(limits.get("public_notices_per_hour", 20)),
        max_notice_items=int(limits.get("max_notice_items", 20)),
        max_explanation_chars=int(limits.get("max_explanation_chars", 5000)),
        raw=policy,
    )


def load_policy_document(path: Path | None) -> dict[str, Any]:
    """Read the policy YAML if there is one; a missing file means the defaults."""
    candidates = [path] if path else [Path(__file__).resolve().parents[2] / "policies" / "default.yaml"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            with open(candidate, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
            return data if isinstance(data, dict) else {}
    return {}


def policy_for(settings: Any) -> CasePolicy:
    """The case policy for these settings (their `policy_file`, else policies/default.yaml)."""
    return case_policy(load_policy_document(getattr(settings, "policy_file", None)))
