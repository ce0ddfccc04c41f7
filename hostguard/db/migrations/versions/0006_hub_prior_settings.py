"""integrations: a Hub repo's settings before hostguard hid it, for restore (owned by hostguard.integrations)

Revision ID: 0006_hub_prior_settings
Revises: 0005_ops
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0006_hub_prior_settings"
down_revision = "0005_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_prior_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("repo_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("gated", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("restored_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_hub_prior_settings_repo_id"), "hub_prior_settings", ["repo_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hub_prior_settings_repo_id"), table_name="hub_prior_settings")
    op.drop_table("hub_prior_settings")
