"""The team dashboard's figures: queue depth, overdue cases, deadlines met, time to decision,
throughput per moderator and reversals on appeal.

The queue now (depth, overdue) reads the open cases' figures kept per status, category and
deadline day (`hostguard.cases.rollup.CaseOpenFigure`), and the cases only for the deadlines
falling on the day the overdue count is taken, so it does not grow with the backlog. The period's figures read the
daily roll-up (`hostguard.cases.rollup`, kept in step in each decision's transaction) for its
whole UTC days and the case tables only for the parts of days at either end, so their cost
does not grow with the period's decisions. Median and p90 come from the roll-up's buckets of
time to decision (0.1 h below 10 h, 1 h to 100 h, 10 h above). `benchmarks/cases/scale.py`
times them on both databases at a million cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, Integer, and_, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.cases.models import OPEN_STATUSES, Appeal, Case, CaseSource, CaseStatus, Decision
from hostguard.cases.rollup import CaseDailyFigure, CaseOpenFigure, bucket_of
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


def _nearest_rank(buckets: dict[int, int], shares: tuple[float, ...]) -> list[float | None]:
    """The nearest-rank percentiles of a histogram {tenths of an hour: count}, in hours."""
    count = sum(buckets.values())
    found: list[float | None] = []
    for share in shares:
        rank, seen, value = max(1, math.ceil(count * share)), 0, None
        for bucket in sorted(buckets):
            seen += buckets[bucket]
            if seen >= rank:
                value = bucket / 10
                break
        found.append(value if count else None)
    return found


@dataclass
class _Period:
    """The period's figures, summed from the roll-up's whole days and the raw rows of the rest."""

    deadlines: dict[str, list[int]] = field(default_factory=dict)  # source -> [decided, within]
    hours: dict[int, int] = field(default_factory=dict)  # bucket (tenths of an hour) -> cases
    per_day: dict[date, int] = field(default_factory=dict)
    moderators: dict[tuple[int | None, str | None], int] = field(default_factory=dict)
    appeals: list[int] = field(default_factory=lambda: [0, 0])  # decided, overturned

    def add_rollup(self, session: Session, first: date, last: date) -> None:
        """Days first..last (inclusive) from `case_daily_figures`, in one statement: each kind
        grouped on the dimensions it has (the others are constant within a kind)."""
        t = CaseDailyFigure
        decision_day = case((col(t.kind) == "decision", col(t.day)), else_=None)
        rows = session.execute(
            sa_select(
                col(t.kind),
                col(t.source),
                col(t.bucket),
                decision_day,
                col(t.decided_by),
                col(t.actor),
                func.sum(t.n),
                func.sum(t.with_deadline),
                func.sum(t.within),
                func.sum(t.overturned),
            )
            .where(col(t.day) >= first, col(t.day) <= last)
            .group_by(
                col(t.kind),
                col(t.source),
                col(t.bucket),
                decision_day,
                col(t.decided_by),
                col(t.actor),
            )
        )
        for kind, source, bucket, day, by, actor, n, with_deadline, within, overturned in rows:
            n = int(n or 0)
            if kind == "case" and with_deadline:
                got = self.deadlines.setdefault(source, [0, 0])
                got[0] += int(with_deadline)
                got[1] += int(within or 0)
            elif kind == "hours" and n:
                self.hours[bucket] = self.hours.get(bucket, 0) + n
            elif kind == "decision":
                d = day if isinstance(day, date) else date.fromisoformat(str(day))
                self.per_day[d] = self.per_day.get(d, 0) + n
                who = (by or None, None if by else actor)
                self.moderators[who] = self.moderators.get(who, 0) + n
            elif kind == "appeal":
                self.appeals[0] += n
                self.appeals[1] += int(overturned or 0)

    def add_raw(
        self, session: Session, dialect: str, spans: list[tuple[datetime, datetime]]
    ) -> None:
        """The spans [since, until) from the case tables themselves (one statement a figure)."""

        def within_spans(column):
            return or_(*(and_(column >= lo, column < hi) for lo, hi in spans))

        in_period = (col(Case.decided_at).is_not(None), within_spans(col(Case.decided_at)))
        within = func.sum(case((col(Case.decided_at) <= col(Case.deadline_at), 1), else_=0))
        for source, n, w in session.exec(
            select(Case.source, func.count(), within)
            .where(*in_period, col(Case.deadline_at).is_not(None))
            .group_by(Case.source)
        ):
            got = self.deadlines.setdefault(source, [0, 0])
            got[0] += int(n)
            got[1] += int(w or 0)
        tenths = cast(func.round(_hours_to_decision(dialect) * 10), Integer)
        for value, n in session.exec(
            select(tenths, func.count()).where(*in_period).group_by(tenths)
        ):
            bucket = bucket_of(int(value))
            self.hours[bucket] = self.hours.get(bucket, 0) + int(n)

        made = (within_spans(col(Decision.decided_at)),)
        day = _day(dialect, col(Decision.decided_at))
        for d, n in session.exec(select(day, func.count()).where(*made).group_by(day)):
            d = d if isinstance(d, date) else date.fromisoformat(str(d))
            self.per_day[d] = self.per_day.get(d, 0) + int(n)
        # grouped on the user id (an automatic decision has none: its actor names the rule)
        automatic = case((col(Decision.decided_by).is_(None), Decision.actor), else_=None)
        for uid, actor, n in session.exec(
            select(Decision.decided_by, automatic, func.count())
            .where(*made)
            .group_by(col(Decision.decided_by), automatic)
        ):
            who = (uid, actor if uid is None else None)
            self.moderators[who] = self.moderators.get(who, 0) + int(n)

        overturned = func.sum(case((col(Appeal.outcome) == "overturned", 1), else_=0))
        decided_appeals, reversed_appeals = session.exec(
            select(func.count(), overturned).where(
                col(Appeal.decided_at).is_not(None), within_spans(col(Appeal.decided_at))
            )
        ).one()
        self.appeals[0] += int(decided_appeals)
        self.appeals[1] += int(reversed_appeals or 0)


def _period(session: Session, dialect: str, since: datetime, until: datetime) -> _Period:
    """Whole UTC days of [since, until) from the roll-up, the parts of days at either end raw."""
    period = _Period()
    since_utc, until_utc = since.astimezone(UTC), until.astimezone(UTC)
    first_whole = since_utc.date() + timedelta(days=0 if since_utc.time() == time() else 1)
    end_whole = until_utc.date()  # exclusive
    if first_whole >= end_whole:
        period.add_raw(session, dialect, [(since, until)])
        return period
    start = datetime.combine(first_whole, time(), tzinfo=UTC)
    end = datetime.combine(end_whole, time(), tzinfo=UTC)
    period.add_rollup(session, first_whole, end_whole - timedelta(days=1))
    spans = [(lo, hi) for lo, hi in ((since, start), (end, until)) if lo < hi]
    if spans:
        period.add_raw(session, dialect, spans)
    return period


def _queue_now(session: Session, until: datetime) -> tuple[list[DepthRow], dict[str, int]]:
    """The open cases by queue and category, and those past their deadline at `until`: the
    kept figures (`rollup.CaseOpenFigure`) for the deadlines of the days before `until`'s UTC
    day, the cases themselves for that day's (an index range of a day's deadlines)."""
    t = CaseOpenFigure
    day = until.astimezone(UTC).date()
    past = func.sum(case((col(t.deadline_day) < day, col(t.n)), else_=0))
    depth: list[DepthRow] = []
    overdue: dict[str, int] = {}
    for status, escalated_to, category, cases, free, late in session.execute(
        sa_select(
            col(t.status),
            col(t.escalated_to),
            col(t.category),
            func.sum(t.n),
            func.sum(t.unassigned),
            past,
        ).group_by(col(t.status), col(t.escalated_to), col(t.category))
    ):
        if int(cases or 0):
            queue = _queue_name(status, escalated_to or None)
            depth.append(DepthRow(queue, category, int(cases), int(free or 0)))
        if int(late or 0):
            overdue[category] = overdue.get(category, 0) + int(late)
    depth.sort(key=lambda r: (r.queue, -r.cases, r.category))
    start = datetime.combine(day, time(), tzinfo=UTC)
    for category, n in session.exec(
        select(Case.category, func.count())
        .where(
            col(Case.status).in_(OPEN_STATUSES),
            col(Case.deadline_at) >= start,
            col(Case.deadline_at) < until,
        )
        .group_by(Case.category)
    ):
        overdue[category] = overdue.get(category, 0) + int(n)
    return depth, dict(sorted(overdue.items(), key=lambda kv: (-kv[1], kv[0])))


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

    board.depth, board.overdue = _queue_now(session, until)

    period = _period(session, dialect, since, until)
    found = {source: (n, w) for source, (n, w) in period.deadlines.items()}
    order = [s.value for s in DEADLINE_SOURCES] + sorted(
        s for s in found if s not in {d.value for d in DEADLINE_SOURCES}
    )
    board.deadlines = [DeadlineRow(s, *found.get(s, (0, 0))) for s in order]

    board.decided = sum(period.hours.values())
    board.median_hours, board.p90_hours = _nearest_rank(period.hours, (0.5, 0.9))

    counted = period.per_day
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    board.per_day = [
        (first + timedelta(days=i), counted.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]

    counts = [(uid, actor, n) for (uid, actor), n in period.moderators.items() if n]
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

    board.appeals_decided, board.appeals_overturned = period.appeals
    return board
