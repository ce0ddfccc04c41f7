"""datasets: dataset scans, shard results and attestations (issue 15) (owned by hostguard.datasets)

Revision ID: 0010_dataset_scans
Revises: 0009_hotline_flaggers
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0010_dataset_scans"
down_revision = "0009_hotline_flaggers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("repo_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("shards_total", sa.Integer(), nullable=True),
        sa.Column("shards_done", sa.Integer(), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("attestation", sa.JSON(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_dataset_scans_scan_id"), "dataset_scans", ["scan_id"], unique=True)
    op.create_index(op.f("ix_dataset_scans_repo_id"), "dataset_scans", ["repo_id"], unique=False)
    op.create_index(op.f("ix_dataset_scans_status"), "dataset_scans", ["status"], unique=False)
    op.create_table(
        "dataset_shard_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scan_pk", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scan_pk"], ["dataset_scans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scan_pk", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("dataset_shard_results")
    op.drop_index(op.f("ix_dataset_scans_status"), table_name="dataset_scans")
    op.drop_index(op.f("ix_dataset_scans_repo_id"), table_name="dataset_scans")
    op.drop_index(op.f("ix_dataset_scans_scan_id"), table_name="dataset_scans")
    op.drop_table("dataset_scans")
