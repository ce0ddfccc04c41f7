"""cases: the open cases' figures for the dashboard's queue now (issue 16) (owned by hostguard.cases)

`case_open_figures` holds the open cases (open, escalated, appealed) per status, escalation,
category and UTC day of the deadline, with how many are unassigned; `hostguard/cases/rollup.py`
keeps it in step in the transaction that opens, claims, decides, merges or reopens a case, and
the dashboard reads its depth by queue and its overdue count from it. The upgrade counts it once
from the open cases.

`ix_case_daily_figures_day`: the dashboard reads the roll-up (0023) for a period's days, and its
unique key leads with the kind, so PostgreSQL read the whole year's rows (101 k at 1 M cases)
for the 8 k of 29 days.

Revision ID: 0025_open_figures
Revises: 0024_sample_videos
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025_open_figures"
down_revision = "0024_sample_videos"
branch_labels = None
depends_on = None

KEY = ["status", "escalated_to", "category", "deadline_day"]


def upgrade() -> None:
    op.create_table(
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
    # the count of the open cases already there, by the same code that keeps it in step
    from hostguard.cases.rollup import rebuild

    rebuild(op.get_bind(), "case_open_figures")


def downgrade() -> None:
    op.drop_table("case_open_figures")
    op.drop_index("ix_case_daily_figures_day", table_name="case_daily_figures")
