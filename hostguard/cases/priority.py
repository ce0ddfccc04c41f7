"""Queue order and deadlines: how urgent a case is, from category, source, notifier standing and age.

The weights, caps and deadlines are the policy's (`priorities:`, `deadlines:`, `categories:`).
The queue is read with the (status, priority, id) index, so priority is a stored integer;
the `cases.reprioritise` job refreshes it as cases age, and reading the queue lifts a case
the moment it passes its deadline (`queue.list_cases` given the policy).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hostguard.accounts.models import TrustedFlagger
from hostguard.policy import Policy


def priority_for(
    category: str,
    source: str,
    *,
    policy: Policy,
    opened_at: datetime | None = None,
    now: datetime | None = None,
    deadline_at: datetime | None = None,
    notifier_penalty: int = 0,
) -> int:
    """Higher runs first. The category's severity (child sexual abuse material outranks
    everything), then orders, automatic hits and trusted flaggers above the public; waiting and
    being overdue add points."""
    rules = policy.priorities
    # a category the policy no longer has ranks as "other" (which every policy has)
    cat = policy.categories.get(category) or policy.categories["other"]
    score = cat.severity + rules.sources.get(source, 0) - notifier_penalty
    if opened_at and now:
        hours = max(0.0, (now - opened_at).total_seconds() / 3600)
        score += min(rules.age_points_max, int(hours * rules.age_points_per_hour))
    if deadline_at and now and now > deadline_at:
        score += rules.overdue_points
    return max(score, 0)


def notice_is_prioritised(flagger: TrustedFlagger | None, category: str) -> bool:
    """Art. 22(1): a trusted flagger's notice takes the `trusted_flagger` lane (its source weight
    in `priorities.sources`) only within the flagger's areas of expertise and while it is not
    suspended (Art. 22(6)); otherwise it is an ordinary notice."""
    return flagger is not None and flagger.active and category in (flagger.areas or [])


def deadline_for(
    *,
    category: str,
    source: str,
    opened_at: datetime,
    policy: Policy,
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
