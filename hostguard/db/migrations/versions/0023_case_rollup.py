"""cases: the dashboard's daily roll-up (issue 16) (owned by hostguard.cases)

`case_daily_figures` holds, per UTC day, the cases decided (per source, category and bucket of
time to decision, with the deadlines met), the decisions made (per category and moderator) and
the appeals decided (with the reversals); `hostguard/cases/rollup.py` keeps it in step in the
decision's transaction and the dashboard reads it for whole days. The upgrade counts it once
from the existing rows.

Revision ID: 0023_case_rollup
Revises: 0020_video_hashes
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0023_case_rollup"
# the lead re-chains to "0014_exchanges"'s successor at merge; main had three heads meanwhile
down_revision = "0020_video_hashes"
branch_labels = None
depends_on = None

KEY = ["kind", "day", "source", "category", "decided_by", "actor", "bucket"]


def upgrade() -> None:
    op.create_table(
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
    # the count of the rows already there, by the same code that keeps it in step
    from hostguard.cases.rollup import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("case_daily_figures")
