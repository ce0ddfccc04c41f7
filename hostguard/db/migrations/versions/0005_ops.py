"""operations: when each periodic task last ran (owned by hostguard.ops)

Revision ID: 0005_ops
Revises: 0004_cases
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0005_ops"
down_revision = "0004_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "periodic_tasks",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("next_run_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_enqueued_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_job_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("periodic_tasks")
