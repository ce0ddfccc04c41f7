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
scale benchmark's COPY) need `rebuild`, which the migration also runs once.

Time to decision is kept in buckets (`bucket_of`): 0.1 h below 10 h, 1 h from 10 h to 100 h,
10 h above, each value rounded to the nearest bucket, so a median or p90 read from them is at
most 5 % (and 0.05 h below 10 h) from the exact value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import UniqueConstraint, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from hostguard.audit.service import hold_chain
from hostguard.cases.models import Appeal, Case, Decision

NO_BUCKET = -1


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


# model -> (the columns a row depends on, how they make a row)
TRACKED: dict[type, tuple[tuple[str, ...], Any]] = {
    Case: (("decided_at", "opened_at", "deadline_at", "source", "category"), _case_rows),
    Decision: (("decided_at", "decided_by", "actor"), _decision_rows),
    Appeal: (("decided_at", "outcome"), _appeal_rows),
}


def _add(deltas: dict, rows: list[tuple[tuple, tuple[int, ...]]], sign: int) -> None:
    for key, counts in rows:
        now = deltas.setdefault(key, [0, 0, 0, 0])
        for i, c in enumerate(counts):
            now[i] += sign * c


def _stored(conn: Connection, model: type, columns: tuple[str, ...], pk: Any) -> dict | None:
    table = model.__table__  # type: ignore[attr-defined]
    found = conn.execute(select(*(table.c[c] for c in columns)).where(table.c.id == pk)).first()
    return dict(found._mapping) if found is not None else None


@event.listens_for(OrmSession, "before_flush")
def _keep_in_step(session: OrmSession, flush_context: Any, instances: Any) -> None:
    deltas: dict[tuple, list[int]] = {}
    conn: Connection | None = None
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        tracked = TRACKED.get(type(obj))
        if tracked is None:
            continue
        columns, row_of = tracked
        state = obj._sa_instance_state
        is_new, is_deleted = obj in session.new, obj in session.deleted
        if not is_new:
            if not is_deleted and not any(state.attrs[c].history.has_changes() for c in columns):
                continue
            conn = conn or session.connection()
            old = _stored(conn, type(obj), columns, obj.id)
            if old is not None:
                _add(deltas, row_of(old), -1)
        if not is_deleted:
            _add(deltas, row_of({c: getattr(obj, c) for c in columns}), +1)
    changed = {k: v for k, v in deltas.items() if any(v)}
    if changed:
        conn = conn or session.connection()
        # every decision holds the audit chain's lock until it commits: take it before the
        # roll-up's rows (shared by concurrent decisions) so no two can lock them in turn
        hold_chain(conn)
        apply(conn, changed)


def apply(conn: Connection, deltas: dict[tuple, list[int]]) -> None:
    """Add `deltas` (key -> counts) to the roll-up, creating the rows it lacks, in key order."""
    table = CaseDailyFigure.__table__  # type: ignore[attr-defined]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY),
        set_={c: table.c[c] + stmt.excluded[c] for c in COUNTS},
    )
    rows = [
        dict(zip(KEY, key, strict=True)) | dict(zip(COUNTS, counts, strict=True))
        for key, counts in sorted(deltas.items())
    ]
    conn.execute(stmt, rows)


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


def rebuild(conn: Connection) -> int:
    """Recount the roll-up from the case tables (after rows were written around the ORM); the
    number of rows written."""
    items = sorted(counted(conn).items())
    table = CaseDailyFigure.__table__  # type: ignore[attr-defined]
    conn.execute(table.delete())
    for start in range(0, len(items), 5000):
        apply(conn, {k: list(v) for k, v in items[start : start + 5000]})
    return len(items)


def stored(conn: Connection) -> dict[tuple, tuple[int, ...]]:
    """The roll-up's rows as kept, {key: counts}, without the rows whose counts all fell to 0."""
    table = CaseDailyFigure.__table__  # type: ignore[attr-defined]
    found = {}
    for row in conn.execute(select(table)):
        m = row._mapping
        counts = tuple(m[c] for c in COUNTS)
        if any(counts):
            found[tuple(m[k] for k in KEY)] = counts
    return found
