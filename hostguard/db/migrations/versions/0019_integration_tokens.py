"""integration (issue 17): upload tokens, webhook endpoints, deliveries per endpoint

Revision ID: 0019_integration_tokens
Revises: 0018_case_indexes
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0019_integration_tokens"
down_revision = "0018_case_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploader_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("repo_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("repo_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("upload_tokens") as batch:
        batch.create_index("ix_upload_tokens_prefix", ["prefix"], unique=False)
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("endpoint_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch.create_foreign_key(
            "fk_webhook_deliveries_endpoint_id", "webhook_endpoints", ["endpoint_id"], ["id"]
        )
        batch.create_index("ix_webhook_deliveries_endpoint_id", ["endpoint_id"], unique=False)
        batch.create_index("ix_webhook_deliveries_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("ix_webhook_deliveries_event_id")
        batch.drop_index("ix_webhook_deliveries_endpoint_id")
        batch.drop_constraint("fk_webhook_deliveries_endpoint_id", type_="foreignkey")
        batch.drop_column("event_id")
        batch.drop_column("endpoint_id")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("upload_tokens") as batch:
        batch.drop_index("ix_upload_tokens_prefix")
    op.drop_table("upload_tokens")
