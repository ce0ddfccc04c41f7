"""Queue order and deadlines: how urgent a case is, from category, source, notifier standing and age.

The queue is read with the (status, priority, id) index, so priority is a stored integer;
the `cases.reprioritise` job refreshes it as cases age and pass their deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from hostguard.cases.categories import Category, load_categories
from hostguard.cases.policy import CasePolicy

SOURCE_WEIGHT = {
    "order": 300,
    "hash_match": 250,
    "retroactive_match": 250,
    "trusted_flagger": 200,
    "upload_check": 100,
    "notice": 50,
    "own_initiative": 50,
}
AGE_POINTS_PER_HOUR = 2
AGE_POINTS_MAX = 200
OVERDUE_POINTS = 300
# A notifier whose notices are mostly unfounded sinks below everyone else's public notices.
UNRELIABLE_NOTIFIER_PENALTY = 100


def priority_for(
    category: str,
    source: str,
    *,
    opened_at: datetime | None = None,
    now: datetime | None = None,
    deadline_at: datetime | None = None,
    notifier_penalty: int = 0,
    categories: Mapping[str, Category] | None = None,
) -> int:
    """Higher runs first. Child sexual abuse material outranks everything; then severity, then
    orders, automatic hits and trusted flaggers above the public; waiting and being overdue add points."""
    categories = categories if categories is not None else load_categories()
    cat = categories.get(category)
    score = (cat.severity if cat else 100) + SOURCE_WEIGHT.get(source, 0) - notifier_penalty
    if opened_at and now:
        hours = max(0.0, (now - opened_at).total_seconds() / 3600)
        score += min(AGE_POINTS_MAX, int(hours * AGE_POINTS_PER_HOUR))
    if deadline_at and now and now > deadline_at:
        score += OVERDUE_POINTS
    return max(score, 0)


def deadline_for(
    *,
    category: str,
    source: str,
    opened_at: datetime,
    policy: CasePolicy,
    order_deadline: datetime | None = None,
) -> datetime:
    """When the case must be decided: the policy's deadline, or an order's own deadline if earlier."""
    deadline = opened_at + timedelta(hours=policy.deadline_hours(category=category, source=source))
    if order_deadline and order_deadline < deadline:
        return order_deadline
    return deadline


def is_overdue(deadline_at: datetime | None, now: datetime) -> bool:
    return deadline_at is not None and now > deadline_at


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=min(moment.day, day))
        except ValueError:
            continue
    raise ValueError("unreachable")
