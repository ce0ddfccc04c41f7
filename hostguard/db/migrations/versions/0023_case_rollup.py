"""cases: the dashboard's daily roll-up (issue 16) (owned by hostguard.cases)

`case_daily_figures` holds, per UTC day, the cases decided (per source, category and bucket of
time to decision, with the deadlines met), the decisions made (per category and moderator) and
the appeals decided (with the reversals); `hostguard/cases/rollup.py` keeps it in step in the
decision's transaction and the dashboard reads it for whole days. The upgrade counts it once
from the existing rows, as `rollup.rebuild` did at this revision, from the case tables' columns
as they are here (a migration imports no app code: later models may name columns this
database does not have yet).

Revision ID: 0023_case_rollup
Revises: 0020_video_hashes
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

from hostguard.db.types import UTCDateTime

revision = "0023_case_rollup"
# the lead re-chains to "0014_exchanges"'s successor at merge; main had three heads meanwhile
down_revision = "0020_video_hashes"
branch_labels = None
depends_on = None

KEY = ["kind", "day", "source", "category", "decided_by", "actor", "bucket"]

# A copy of the roll-up's rules in hostguard/cases/rollup.py at this revision, frozen here so
# that this upgrade always writes the figures of its revision, whatever the app's rules become.
NO_BUCKET = -1  # the bucket of every kind but `hours`


def bucket_of(tenths: int) -> int:
    """The bucket (in tenths of an hour, its middle) of a time to decision in tenths of an hour:
    0.1 h below 10 h, 1 h from 10 h to 100 h, 10 h above."""
    if tenths < 100:
        return max(tenths, 0)
    if tenths < 1000:
        return round(tenths / 10) * 10
    return round(tenths / 100) * 100


# The columns the count reads, as they are at this revision.
cases = sa.table(
    "cases",
    sa.column("decided_at", UTCDateTime()),
    sa.column("opened_at", UTCDateTime()),
    sa.column("deadline_at", UTCDateTime()),
    sa.column("source", sa.String()),
    sa.column("category", sa.String()),
)
decisions = sa.table(
    "decisions",
    sa.column("decided_at", UTCDateTime()),
    sa.column("decided_by", sa.Integer()),
    sa.column("actor", sa.String()),
)
appeals = sa.table(
    "appeals",
    sa.column("decided_at", UTCDateTime()),
    sa.column("outcome", sa.String()),
)


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _decided(conn: sa.Connection, table: sa.TableClause) -> sa.CursorResult:
    return conn.execute(
        sa.select(*table.c)
        .where(table.c.decided_at.is_not(None))
        .execution_options(yield_per=10_000)
    )


def count(conn: sa.Connection) -> dict[tuple, list[int]]:
    """The roll-up of the rows there: (day, kind, source, category, decided_by, actor, bucket)
    -> [n, with_deadline, within, overturned]."""
    figures: dict[tuple, list[int]] = {}

    def add(
        key: tuple, n: int = 1, with_deadline: int = 0, within: int = 0, overturned: int = 0
    ) -> None:
        counts = figures.setdefault(key, [0, 0, 0, 0])
        for i, c in enumerate((n, with_deadline, within, overturned)):
            counts[i] += c

    for decided, opened, deadline, source, category in _decided(conn, cases):
        day, has_deadline = _utc_day(decided), deadline is not None
        add(
            (day, "case", source or "", category or "", 0, "", NO_BUCKET),
            with_deadline=int(has_deadline),
            within=int(has_deadline and decided <= deadline),
        )
        tenths = round((decided - opened).total_seconds() / 360)
        add((day, "hours", "", "", 0, "", bucket_of(tenths)))
    for decided, decided_by, actor in _decided(conn, decisions):
        # a moderator's decision counts by user id, an automatic one by its actor
        by_actor = "" if decided_by is not None else actor or ""
        add((_utc_day(decided), "decision", "", "", decided_by or 0, by_actor, NO_BUCKET))
    for decided, outcome in _decided(conn, appeals):
        key = (_utc_day(decided), "appeal", "", "", 0, "", NO_BUCKET)
        add(key, overturned=int(outcome == "overturned"))
    return figures


def upgrade() -> None:
    figures = op.create_table(
        "case_daily_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("with_deadline", sa.Integer(), nullable=False),
        sa.Column("within", sa.Integer(), nullable=False),
        sa.Column("overturned", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(*KEY, name="uq_case_daily_figures"),
    )
    names = ("day", "kind", "source", "category", "decided_by", "actor", "bucket")
    counts = ("n", "with_deadline", "within", "overturned")
    rows = [
        dict(zip(names, key, strict=True)) | dict(zip(counts, found, strict=True))
        for key, found in sorted(count(op.get_bind()).items())
    ]
    if rows:
        op.get_bind().execute(figures.insert(), rows)


def downgrade() -> None:
    op.drop_table("case_daily_figures")
