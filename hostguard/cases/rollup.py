"""The dashboard's daily roll-up: per UTC day, what was decided, kept in step in the same
transaction as the decision, the appeal or the reversal that changes it.

One row per (kind, day, source, category, moderator, bucket), with counts:

- kind `case`: cases whose `decided_at` falls on the day, per source and category (`n`,
  `with_deadline`, `within` the deadline);
- kind `hours`: the same cases per bucket of time to decision (`n`);
- kind `decision`: decisions made on the day, per moderator (`decided_by`, or the actor of an
  automatic decision);
- kind `appeal`: appeals decided on the day (`n`, `overturned`).

Each kind has only the dimensions the dashboard reads, so a day has a few hundred rows at
most whatever the number of cases (at 1 M cases a year, 30 days are about 10 k rows).

A `before_flush` listener on every session adds each new, changed or deleted case, decision
and appeal to its rows (the old values of a changed row are read from the database, so a
reversal that reopens a case takes it out of the day it was decided on): whatever code path
decides, the roll-up moves with it, in the same transaction. Rows written around the ORM (the
scale benchmark's COPY) need `rebuild`; the migrations that add the tables (0023, 0025) count
the cases once by the same rules, copied into them (a migration imports no app code).

The queue *now* is kept likewise in `case_open_figures`: the open cases (open, escalated,
appealed) per status, escalation, category and UTC day of the deadline, with how many are
unassigned. The dashboard's depth by queue and its overdue count read those few rows, and the
case table only for the open cases whose deadline falls on the day the overdue count is taken
(`open_figures`), instead of every open case's index entry (97 k of them, 15-35 ms, at 1 M
cases in `benchmarks/cases/scale.py`). The same listener keeps them; a claim, the one change
of a case made with a plain UPDATE, adds its own (`claims.claim_case`).

Time to decision is kept in buckets (`bucket_of`): 0.1 h below 10 h, 1 h from 10 h to 100 h,
10 h above, each value rounded to the nearest bucket, so a median or p90 read from them is at
most 5 % (and 0.05 h below 10 h) from the exact value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from hostguard.audit.service import hold_chain
from hostguard.cases.models import OPEN_STATUSES, Appeal, Case, Decision

NO_BUCKET = -1
NO_DEADLINE = date.max  # the deadline day of an open case without a deadline


class CaseDailyFigure(SQLModel, table=True):
    """Counts of one day's decisions (see the module's docstring)."""

    __tablename__ = "case_daily_figures"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "kind",
            "source",
            "category",
            "decided_by",
            "actor",
            "bucket",
            name="uq_case_daily_figures",
        ),
        # the dashboard reads a period's days (the unique key leads with the kind); 0024
        Index("ix_case_daily_figures_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    kind: str = Field(max_length=8)  # case | decision | appeal
    source: str = Field(default="", max_length=32)
    category: str = Field(default="", max_length=64)
    decided_by: int = 0  # the user id, 0 when none
    actor: str = Field(default="", max_length=200)  # the actor of an automatic decision
    bucket: int = NO_BUCKET  # tenths of an hour
    n: int = 0
    with_deadline: int = 0
    within: int = 0
    overturned: int = 0


KEY = ("day", "kind", "source", "category", "decided_by", "actor", "bucket")
COUNTS = ("n", "with_deadline", "within", "overturned")


class CaseOpenFigure(SQLModel, table=True):
    """Open cases now, per status, escalation, category and UTC day of the deadline."""

    __tablename__ = "case_open_figures"
    __table_args__ = (
        UniqueConstraint(
            "status", "escalated_to", "category", "deadline_day", name="uq_case_open_figures"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=16)
    escalated_to: str = Field(default="", max_length=16)
    category: str = Field(max_length=64)
    deadline_day: date = NO_DEADLINE
    n: int = 0
    unassigned: int = 0


OPEN_KEY = ("status", "escalated_to", "category", "deadline_day")
OPEN_COUNTS = ("n", "unassigned")


def bucket_of(tenths: int) -> int:
    """The bucket (in tenths of an hour, its middle) of a time to decision in tenths of an hour."""
    if tenths < 100:
        return max(tenths, 0)
    if tenths < 1000:
        return round(tenths / 10) * 10
    return round(tenths / 100) * 100


def _utc_day(at: datetime) -> date:
    return (at.astimezone(UTC) if at.tzinfo else at).date()


def _tenths(opened: datetime, decided: datetime) -> int:
    return round((decided - opened).total_seconds() / 360)


def _case_rows(v: dict[str, Any]) -> list[tuple[tuple, tuple[int, ...]]]:
    decided = v["decided_at"]
    if decided is None:
        return []
    day, deadline = _utc_day(decided), v["deadline_at"]
    has = deadline is not None
    within = int(has and decided <= deadline)
    bucket = bucket_of(_tenths(v["opened_at"], decided))
    return [
        (
            (day, "case", str(v["source"] or ""), str(v["category"] or ""), 0, "", NO_BUCKET),
            (1, int(has), within, 0),
        ),
        ((day, "hours", "", "", 0, "", bucket), (1, 0, 0, 0)),
    ]


def _decision_rows(v: dict[str, Any]) -> list[tuple[tuple, tuple[int, ...]]]:
    if v["decided_at"] is None:
        return []
    by = v["decided_by"]
    actor = "" if by is not None else str(v["actor"] or "")
    return [
        ((_utc_day(v["decided_at"]), "decision", "", "", by or 0, actor, NO_BUCKET), (1, 0, 0, 0))
    ]


def _appeal_rows(v: dict[str, Any]) -> list[tuple[tuple, tuple[int, ...]]]:
    if v["decided_at"] is None:
        return []
    key = (_utc_day(v["decided_at"]), "appeal", "", "", 0, "", NO_BUCKET)
    return [(key, (1, 0, 0, int(v["outcome"] == "overturned")))]


def _open_rows(v: dict[str, Any]) -> list[tuple[tuple, tuple[int, ...]]]:
    if v["status"] not in OPEN_STATUSES:
        return []
    deadline = v["deadline_at"]
    day = _utc_day(deadline) if deadline is not None else NO_DEADLINE
    key = (str(v["status"]), v["escalated_to"] or "", str(v["category"] or ""), day)
    return [(key, (1, int(v["assigned_to"] is None)))]


# model -> (the columns a row depends on, how they make a row)
TRACKED: dict[type, tuple[tuple[str, ...], Any]] = {
    Case: (("decided_at", "opened_at", "deadline_at", "source", "category"), _case_rows),
    Decision: (("decided_at", "decided_by", "actor"), _decision_rows),
    Appeal: (("decided_at", "outcome"), _appeal_rows),
}
OPEN_COLUMNS = ("status", "escalated_to", "category", "deadline_at", "assigned_to")
# each kept table: (its tracked models, its key and counts)
KEPT: dict[str, tuple[dict[type, tuple[tuple[str, ...], Any]], tuple[str, ...], tuple[str, ...]]]
KEPT = {
    "case_daily_figures": (TRACKED, KEY, COUNTS),
    "case_open_figures": ({Case: (OPEN_COLUMNS, _open_rows)}, OPEN_KEY, OPEN_COUNTS),
}


def _add(deltas: dict, rows: list[tuple[tuple, tuple[int, ...]]], sign: int) -> None:
    for key, counts in rows:
        now = deltas.setdefault(key, [0] * len(counts))
        for i, c in enumerate(counts):
            now[i] += sign * c


def _stored(conn: Connection, model: type, columns: tuple[str, ...], pk: Any) -> dict | None:
    table = model.__table__  # type: ignore[attr-defined]
    found = conn.execute(select(*(table.c[c] for c in columns)).where(table.c.id == pk)).first()
    return dict(found._mapping) if found is not None else None


@event.listens_for(OrmSession, "before_flush")
def _keep_in_step(session: OrmSession, flush_context: Any, instances: Any) -> None:
    deltas: dict[str, dict[tuple, list[int]]] = {name: {} for name in KEPT}
    conn: Connection | None = None
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        kinds = [(name, kept[0][type(obj)]) for name, kept in KEPT.items() if type(obj) in kept[0]]
        if not kinds:
            continue
        state = obj._sa_instance_state
        is_new, is_deleted = obj in session.new, obj in session.deleted
        if not (is_new or is_deleted):
            kinds = [
                (name, (columns, row_of))
                for name, (columns, row_of) in kinds
                if any(state.attrs[c].history.has_changes() for c in columns)
            ]
            if not kinds:
                continue
        old = None
        if not is_new:
            conn = conn or session.connection()
            needed = tuple(dict.fromkeys(c for _, (columns, _) in kinds for c in columns))
            old = _stored(conn, type(obj), needed, obj.id)
        for name, (columns, row_of) in kinds:
            if old is not None:
                _add(deltas[name], row_of(old), -1)
            if not is_deleted:
                _add(deltas[name], row_of({c: getattr(obj, c) for c in columns}), +1)
    changed = {name: {k: v for k, v in found.items() if any(v)} for name, found in deltas.items()}
    if any(changed.values()):
        conn = conn or session.connection()
        # every decision holds the audit chain's lock until it commits: take it before the
        # roll-up's rows (shared by concurrent decisions) so no two can lock them in turn
        hold_chain(conn)
        for name, found in changed.items():
            if found:
                apply(conn, found, name)


def apply(
    conn: Connection, deltas: dict[tuple, list[int]], name: str = "case_daily_figures"
) -> None:
    """Add `deltas` (key -> counts) to the kept table `name`, creating the rows it lacks, in key
    order."""
    _, key, counts = KEPT[name]
    table = SQLModel.metadata.tables[name]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={c: table.c[c] + stmt.excluded[c] for c in counts},
    )
    rows = [
        dict(zip(key, k, strict=True)) | dict(zip(counts, v, strict=True))
        for k, v in sorted(deltas.items())
    ]
    conn.execute(stmt, rows)


def claimed(conn: Connection, case: Case) -> None:
    """An unassigned open case was claimed with a plain UPDATE (no flush saw it): one fewer
    unassigned. The caller holds the audit chain (`hold_chain`) since it read the case."""
    for key, _counts in _open_rows({c: getattr(case, c) for c in OPEN_COLUMNS}):
        apply(conn, {key: [0, -1]}, "case_open_figures")


def counted(conn: Connection) -> dict[tuple, tuple[int, ...]]:
    """The roll-up as a recount of the case tables would make it: {key: counts}, no empty rows."""
    deltas: dict[tuple, list[int]] = {}
    for model, (columns, row_of) in TRACKED.items():
        table = model.__table__  # type: ignore[attr-defined]
        result = conn.execute(
            select(*(table.c[c] for c in columns))
            .where(table.c.decided_at.is_not(None))
            .execution_options(yield_per=10_000)
        )
        for found in result:
            _add(deltas, row_of(dict(found._mapping)), +1)
    return {k: tuple(v) for k, v in deltas.items() if any(v)}


def counted_open(conn: Connection) -> dict[tuple, tuple[int, ...]]:
    """The open cases' figures as a recount of the cases would make them."""
    deltas: dict[tuple, list[int]] = {}
    table = Case.__table__  # type: ignore[attr-defined]
    result = conn.execute(
        select(*(table.c[c] for c in OPEN_COLUMNS))
        .where(table.c.status.in_(OPEN_STATUSES))
        .execution_options(yield_per=10_000)
    )
    for found in result:
        _add(deltas, _open_rows(dict(found._mapping)), +1)
    return {k: tuple(v) for k, v in deltas.items() if any(v)}


def rebuild(conn: Connection, name: str = "case_daily_figures") -> int:
    """Recount a kept table (the roll-up, or `case_open_figures`) from the case tables, after
    rows were written around the ORM; the number of rows written."""
    found = counted(conn) if name == "case_daily_figures" else counted_open(conn)
    items = sorted(found.items())
    conn.execute(SQLModel.metadata.tables[name].delete())
    for start in range(0, len(items), 5000):
        apply(conn, {k: list(v) for k, v in items[start : start + 5000]}, name)
    return len(items)


def stored(conn: Connection, name: str = "case_daily_figures") -> dict[tuple, tuple[int, ...]]:
    """A kept table's rows, {key: counts}, without the rows whose counts all fell to 0."""
    _, key, counts = KEPT[name]
    table = SQLModel.metadata.tables[name]
    found = {}
    for row in conn.execute(select(table)):
        m = row._mapping
        values = tuple(m[c] for c in counts)
        if any(values):
            found[tuple(m[k] for k in key)] = values
    return found
