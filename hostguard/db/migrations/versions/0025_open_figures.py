"""cases: the open cases' figures for the dashboard's queue now (issue 16) (owned by hostguard.cases)

`case_open_figures` holds the open cases (open, escalated, appealed) per status, escalation,
category and UTC day of the deadline, with how many are unassigned; `hostguard/cases/rollup.py`
keeps it in step in the transaction that opens, claims, decides, merges or reopens a case, and
the dashboard reads its depth by queue and its overdue count from it. The upgrade counts it once
from the open cases, as `rollup.rebuild` did at this revision, from the cases' columns as they
are here (a migration imports no app code: later models may name columns this database does
not have yet).

`ix_case_daily_figures_day`: the dashboard reads the roll-up (0023) for a period's days, and its
unique key leads with the kind, so PostgreSQL read the whole year's rows (101 k at 1 M cases)
for the 8 k of 29 days.

Revision ID: 0025_open_figures
Revises: 0024_sample_videos
"""

from datetime import UTC, date

import sqlalchemy as sa
import sqlmodel
from alembic import op

from hostguard.db.types import UTCDateTime

revision = "0025_open_figures"
down_revision = "0024_sample_videos"
branch_labels = None
depends_on = None

KEY = ["status", "escalated_to", "category", "deadline_day"]

# A copy of the rules in hostguard/cases/ (models.OPEN_STATUSES, rollup.NO_DEADLINE) at this
# revision, frozen here so that this upgrade always writes the figures of its revision,
# whatever the app's rules become.
OPEN_STATUSES = ("open", "escalated", "appealed")
NO_DEADLINE = date.max  # the deadline day of an open case without a deadline

# The columns the count reads, as they are at this revision.
cases = sa.table(
    "cases",
    sa.column("status", sa.String()),
    sa.column("escalated_to", sa.String()),
    sa.column("category", sa.String()),
    sa.column("deadline_at", UTCDateTime()),
    sa.column("assigned_to", sa.Integer()),
)


def count(conn: sa.Connection) -> dict[tuple, list[int]]:
    """The open cases' figures: (status, escalated_to, category, deadline_day) ->
    [n, unassigned]."""
    figures: dict[tuple, list[int]] = {}
    open_cases = conn.execute(
        sa.select(*cases.c)
        .where(cases.c.status.in_(OPEN_STATUSES))
        .execution_options(yield_per=10_000)
    )
    for status, escalated_to, category, deadline_at, assigned_to in open_cases:
        day = deadline_at.astimezone(UTC).date() if deadline_at is not None else NO_DEADLINE
        counts = figures.setdefault((status, escalated_to or "", category or "", day), [0, 0])
        counts[0] += 1
        counts[1] += int(assigned_to is None)
    return figures


def upgrade() -> None:
    figures = op.create_table(
        "case_open_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("escalated_to", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("deadline_day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("unassigned", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(*KEY, name="uq_case_open_figures"),
    )
    op.create_index("ix_case_daily_figures_day", "case_daily_figures", ["day"])
    rows = [
        dict(zip(KEY, key, strict=True)) | {"n": n, "unassigned": unassigned}
        for key, (n, unassigned) in sorted(count(op.get_bind()).items())
    ]
    if rows:
        op.get_bind().execute(figures.insert(), rows)


def downgrade() -> None:
    op.drop_table("case_open_figures")
    op.drop_index("ix_case_daily_figures_day", table_name="case_daily_figures")
