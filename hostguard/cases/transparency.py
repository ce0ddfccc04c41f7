"""Transparency-report figures (DSA Art. 15 and 24) computed from plain rows, so they can be checked by hand."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

AUTOMATED_SOURCES = frozenset({"hash_match", "retroactive_match", "upload_check"})
ACTING = frozenset({"restrict", "take_down", "suspend_uploader", "report"})


@dataclass(frozen=True)
class NoticeRow:
    category: str
    source: str  # notice | trusted_flagger
    received_at: datetime


@dataclass(frozen=True)
class OrderRow:
    category: str
    member_state: str
    received_at: datetime
    acknowledged_at: datetime | None
    effect_at: datetime | None


@dataclass(frozen=True)
class DecisionRow:
    action: str
    ground: str
    category: str
    source: str
    opened_at: datetime  # when the case was opened (the first notice or hit)
    decided_at: datetime
    automated: bool  # automated detection or decision


@dataclass(frozen=True)
class AppealRow:
    filed_at: datetime
    decided_at: datetime | None
    overturned: bool


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(statistics.median(values), 2) if values else None


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class ReportPeriod(TypedDict):
    since: str
    until: str


class NoticeFigures(TypedDict):
    total: int
    by_category: dict[str, int]
    by_source: dict[str, int]
    trusted_flagger_share: float | None


class OrderFigures(TypedDict):
    total: int
    by_category: dict[str, int]
    by_member_state: dict[str, int]
    median_hours_to_acknowledge: float | None
    median_hours_to_effect: float | None


class ActionFigures(TypedDict):
    decisions: int
    total: int
    by_ground: dict[str, int]
    by_action: dict[str, int]
    own_initiative: int
    automated_share: float | None
    median_hours_to_action: float | None


class AppealFigures(TypedDict):
    total: int
    decided: int
    reversed: int
    median_hours_to_decide: float | None


class TransparencyReport(TypedDict):
    """`transparency_report`: the figures of one period (JSON as it is, or CSV by `report_rows`)."""

    period: ReportPeriod
    notices: NoticeFigures
    orders: OrderFigures
    actions: ActionFigures
    appeals: AppealFigures
    # Art. 24(1)(b): Art. 23 suspensions only (illegal_content, unfounded_notices,
    # unfounded_complaints); a suspension under the terms of service is none of them
    suspensions: dict[str, int]


def transparency_report(
    *,
    since: datetime,
    until: datetime,
    notices: list[NoticeRow],
    orders: list[OrderRow],
    decisions: list[DecisionRow],
    appeals: list[AppealRow],
    suspensions: list[str],
) -> TransparencyReport:
    """The report's figures; rows are already limited to the period by the caller.

    `suspensions` holds one reason per suspension: illegal_content, unfounded_notices,
    unfounded_complaints, or terms_of_service, which is no Art. 23 suspension and not counted.
    """
    trusted = sum(1 for n in notices if n.source == "trusted_flagger")
    acted = [d for d in decisions if d.action in ACTING]
    final = [d for d in decisions if d.action != "escalate"]
    decided_appeals = [a for a in appeals if a.decided_at]
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "notices": {
            "total": len(notices),
            "by_category": dict(sorted(Counter(n.category for n in notices).items())),
            "by_source": dict(sorted(Counter(n.source for n in notices).items())),
            "trusted_flagger_share": share(trusted, len(notices)),
        },
        "orders": {
            "total": len(orders),
            "by_category": dict(sorted(Counter(o.category for o in orders).items())),
            "by_member_state": dict(sorted(Counter(o.member_state for o in orders).items())),
            "median_hours_to_acknowledge": median(
                hours(o.received_at, o.acknowledged_at) for o in orders if o.acknowledged_at
            ),
            "median_hours_to_effect": median(
                hours(o.received_at, o.effect_at) for o in orders if o.effect_at
            ),
        },
        "actions": {
            "decisions": len(final),
            "total": len(acted),
            "by_ground": dict(sorted(Counter(d.ground for d in acted).items())),
            "by_action": dict(sorted(Counter(d.action for d in acted).items())),
            "own_initiative": sum(
                1 for d in acted if d.source in AUTOMATED_SOURCES | {"own_initiative"}
            ),
            "automated_share": share(sum(1 for d in final if d.automated), len(final)),
            "median_hours_to_action": median(hours(d.opened_at, d.decided_at) for d in acted),
        },
        "appeals": {
            "total": len(appeals),
            "decided": len(decided_appeals),
            "reversed": sum(1 for a in decided_appeals if a.overturned),
            "median_hours_to_decide": median(
                hours(a.filed_at, a.decided_at)
                for a in decided_appeals
                if a.decided_at is not None  # all of them: decided_appeals have decided_at
            ),
        },
        "suspensions": {
            reason: sum(1 for s in suspensions if s == reason)
            for reason in ("illegal_content", "unfounded_notices", "unfounded_complaints")
        },
    }


def report_rows(report: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten the report to (metric, value) rows for CSV, e.g. ('notices.by_category.hate', '3')."""
    rows: list[tuple[str, str]] = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(report_rows(value, prefix=f"{name}."))
        else:
            rows.append((name, "" if value is None else str(value)))
    return rows
