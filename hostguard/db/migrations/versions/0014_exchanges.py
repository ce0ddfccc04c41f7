"""hashing: hash exchanges, checkpoints, suppressions and feedback (issue 14) (owned by hostguard.hashing)

Revision ID: 0014_exchanges
Revises: 0013_integration
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0014_exchanges"
down_revision = "0013_integration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("credentials_enc", sa.LargeBinary(), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.Column("last_attempt_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_added", sa.Integer(), nullable=False),
        sa.Column("last_removed", sa.Integer(), nullable=False),
        sa.Column("added_total", sa.Integer(), nullable=False),
        sa.Column("removed_total", sa.Integer(), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchanges_name"), ["name"], unique=True)

    op.create_table(
        "hash_entry_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("image", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hash_entry_hits", schema=None) as batch_op:
        batch_op.create_index("ix_hash_entry_hits_entry_at", ["entry_id", "at"], unique=False)

    op.create_table(
        "exchange_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("opinion", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exchange_id", "hash", "opinion"),
    )
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_feedback_exchange_id"), ["exchange_id"], unique=False
        )

    op.create_table(
        "exchange_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exchange_id", "key", "hash"),
    )
    with op.batch_alter_table("exchange_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_records_exchange_hash", ["exchange_id", "hash"], unique=False
        )

    op.create_table(
        "hash_suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "hash"),
    )
    with op.batch_alter_table("hash_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="active",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("hash_entries", schema=None) as batch_op:
        batch_op.drop_column("state")

    op.drop_table("hash_suppressions")
    with op.batch_alter_table("exchange_records", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_records_exchange_hash")

    op.drop_table("exchange_records")
    with op.batch_alter_table("exchange_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_feedback_exchange_id"))

    op.drop_table("exchange_feedback")
    with op.batch_alter_table("hash_entry_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_hash_entry_hits_entry_at")

    op.drop_table("hash_entry_hits")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanges_name"))

    op.drop_table("exchanges")
