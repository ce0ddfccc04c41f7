"""The team dashboard's figures: queue depth, overdue cases, deadlines met, time to decision,
throughput per moderator and reversals on appeal, each one SQL aggregate over the case tables.

Every figure is a GROUP BY (the percentiles from the count per tenth of an hour), so nothing
loads the cases themselves; `benchmarks/cases/dashboard.py`
times them on both databases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, case, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.cases.models import OPEN_STATUSES, Appeal, Case, CaseSource, CaseStatus, Decision
from hostguard.db.types import utcnow

# The sources whose deadlines the law sets (Art. 16 notices, Art. 22 trusted flaggers, Art. 9 orders).
DEADLINE_SOURCES = (CaseSource.NOTICE, CaseSource.TRUSTED_FLAGGER, CaseSource.ORDER)


@dataclass(frozen=True)
class DepthRow:
    queue: str  # open | escalated to senior | escalated to legal | appealed
    category: str
    cases: int
    unassigned: int


@dataclass(frozen=True)
class DeadlineRow:
    source: str
    decided: int  # decided in the period, with a deadline
    within: int  # of those, decided by the deadline

    @property
    def share(self) -> float | None:
        return self.within / self.decided if self.decided else None


@dataclass(frozen=True)
class ModeratorRow:
    moderator: str  # the e-mail address, or the actor for automatic decisions
    decisions: int


@dataclass
class Dashboard:
    since: datetime
    until: datetime
    depth: list[DepthRow] = field(default_factory=list)
    overdue: dict[str, int] = field(default_factory=dict)  # category -> open cases past deadline
    deadlines: list[DeadlineRow] = field(default_factory=list)
    decided: int = 0  # cases decided in the period
    median_hours: float | None = None
    p90_hours: float | None = None
    per_day: list[tuple[date, int]] = field(default_factory=list)  # decisions per day
    moderators: list[ModeratorRow] = field(default_factory=list)
    appeals_decided: int = 0
    appeals_overturned: int = 0

    @property
    def open_cases(self) -> int:
        return sum(r.cases for r in self.depth)

    @property
    def overdue_now(self) -> int:
        return sum(self.overdue.values())

    @property
    def reversal_rate(self) -> float | None:
        return self.appeals_overturned / self.appeals_decided if self.appeals_decided else None

    def depth_by_category(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for row in self.depth:
            totals[row.category] = totals.get(row.category, 0) + row.cases
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))

    def depth_by_queue(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for row in self.depth:
            totals[row.queue] = totals.get(row.queue, 0) + row.cases
        return totals


def _queue_name(status: str, escalated_to: str | None) -> str:
    if status == CaseStatus.ESCALATED:
        return f"escalated to {escalated_to or 'senior'}"
    return status


def _hours_to_decision(dialect: str):
    """Hours from opening to decision, as a SQL expression of the database in use."""
    if dialect == "postgresql":
        return func.extract("epoch", col(Case.decided_at) - col(Case.opened_at)) / 3600.0
    return (func.julianday(col(Case.decided_at)) - func.julianday(col(Case.opened_at))) * 24.0


def _day(dialect: str, column):
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _percentiles(
    session: Session, hours, where, shares: tuple[float, ...]
) -> tuple[int, list[float | None]]:
    """How many values, and the nearest-rank percentiles of them, to the nearest 0.1 h: one
    GROUP BY on the value in tenths of an hour, walked in order (one pass, no sort of the rows)."""
    tenths = cast(func.round(hours * 10), Integer)
    buckets = [
        (int(b), int(n))
        for b, n in session.exec(
            select(tenths, func.count()).where(*where).group_by(tenths).order_by(tenths)
        )
    ]
    count = sum(n for _, n in buckets)
    found: list[float | None] = []
    for share in shares:
        rank, seen, value = max(1, math.ceil(count * share)), 0, None
        for bucket, n in buckets:
            seen += n
            if seen >= rank:
                value = bucket / 10
                break
        found.append(value if count else None)
    return count, found


def team_dashboard(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    days: int = 30,
) -> Dashboard:
    """The figures of the period [since, until) (by default the last `days` days), and the queue now."""
    until = until or utcnow()
    since = since or until - timedelta(days=days)
    dialect = session.get_bind().dialect.name
    board = Dashboard(since=since, until=until)

    unassigned = func.sum(case((col(Case.assigned_to).is_(None), 1), else_=0))
    for status, escalated_to, category, cases, free in session.execute(
        sa_select(
            col(Case.status), col(Case.escalated_to), col(Case.category), func.count(), unassigned
        )
        .where(col(Case.status).in_(OPEN_STATUSES))
        .group_by(col(Case.status), col(Case.escalated_to), col(Case.category))
    ):
        board.depth.append(
            DepthRow(_queue_name(status, escalated_to), category, int(cases), int(free or 0))
        )
    board.depth.sort(key=lambda r: (r.queue, -r.cases, r.category))

    board.overdue = {
        category: int(n)
        for category, n in session.exec(
            select(Case.category, func.count())
            .where(
                col(Case.status).in_(OPEN_STATUSES),
                col(Case.deadline_at).is_not(None),
                col(Case.deadline_at) < until,
            )
            .group_by(Case.category)
            .order_by(func.count().desc(), Case.category)
        )
    }

    in_period = (
        col(Case.decided_at).is_not(None),
        col(Case.decided_at) >= since,
        col(Case.decided_at) < until,
    )
    within = func.sum(case((col(Case.decided_at) <= col(Case.deadline_at), 1), else_=0))
    found = {
        source: (int(n), int(w or 0))
        for source, n, w in session.exec(
            select(Case.source, func.count(), within)
            .where(*in_period, col(Case.deadline_at).is_not(None))
            .group_by(Case.source)
        )
    }
    order = [s.value for s in DEADLINE_SOURCES] + sorted(
        s for s in found if s not in {d.value for d in DEADLINE_SOURCES}
    )
    board.deadlines = [DeadlineRow(s, *found.get(s, (0, 0))) for s in order]

    hours = _hours_to_decision(dialect)
    board.decided, (board.median_hours, board.p90_hours) = _percentiles(
        session, hours, in_period, (0.5, 0.9)
    )

    made = (Decision.decided_at >= since, Decision.decided_at < until)
    day = _day(dialect, col(Decision.decided_at))
    counted = {
        (d if isinstance(d, date) else date.fromisoformat(str(d))): int(n)
        for d, n in session.exec(select(day, func.count()).where(*made).group_by(day))
    }
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    board.per_day = [
        (first + timedelta(days=i), counted.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]

    # grouped on the user id (an automatic decision has none: its actor names the rule), named after
    automatic = case((col(Decision.decided_by).is_(None), Decision.actor), else_=None)
    counts = list(
        session.exec(
            select(Decision.decided_by, automatic, func.count())
            .where(*made)
            .group_by(col(Decision.decided_by), automatic)
        )
    )
    ids = [uid for uid, _, _ in counts if uid is not None]
    emails = (
        {
            uid: email
            for uid, email in session.exec(select(User.id, User.email).where(col(User.id).in_(ids)))
        }
        if ids
        else {}
    )
    board.moderators = sorted(
        (
            ModeratorRow(emails.get(uid, f"user:{uid}") if uid is not None else str(actor), int(n))
            for uid, actor, n in counts
        ),
        key=lambda m: (-m.decisions, m.moderator),
    )

    overturned = func.sum(case((col(Appeal.outcome) == "overturned", 1), else_=0))
    decided_appeals, reversed_appeals = session.exec(
        select(func.count(), overturned).where(
            col(Appeal.decided_at).is_not(None),
            col(Appeal.decided_at) >= since,
            col(Appeal.decided_at) < until,
        )
    ).one()
    board.appeals_decided = int(decided_appeals)
    board.appeals_overturned = int(reversed_appeals or 0)
    return board
