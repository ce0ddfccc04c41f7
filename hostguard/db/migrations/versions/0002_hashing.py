"""hash lists, hash entries and kept sample-image hashes (owned by hostguard.hashing)

Revision ID: 0002_hashing
Revises: 0001_core
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0002_hashing"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hash_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_hash_lists_name"), "hash_lists", ["name"], unique=True)
    op.create_table(
        "hash_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "hash"),
    )
    op.create_table(
        "sample_image_hashes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_pk", sa.Integer(), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_pk"],
            ["model_repos.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_sample_image_hashes_algorithm"), "sample_image_hashes", ["algorithm"], unique=False
    )
    op.create_index(
        op.f("ix_sample_image_hashes_repo_pk"), "sample_image_hashes", ["repo_pk"], unique=False
    )
    op.create_table(
        "hash_retroactive_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["sample_image_hashes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sample_id", "entry_id"),
    )
    op.create_index(
        op.f("ix_hash_retroactive_hits_entry_id"),
        "hash_retroactive_hits",
        ["entry_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hash_retroactive_hits_sample_id"),
        "hash_retroactive_hits",
        ["sample_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hash_retroactive_hits_sample_id"), table_name="hash_retroactive_hits")
    op.drop_index(op.f("ix_hash_retroactive_hits_entry_id"), table_name="hash_retroactive_hits")
    op.drop_table("hash_retroactive_hits")
    op.drop_index(op.f("ix_sample_image_hashes_repo_pk"), table_name="sample_image_hashes")
    op.drop_index(op.f("ix_sample_image_hashes_algorithm"), table_name="sample_image_hashes")
    op.drop_table("sample_image_hashes")
    op.drop_table("hash_entries")
    op.drop_index(op.f("ix_hash_lists_name"), table_name="hash_lists")
    op.drop_table("hash_lists")
