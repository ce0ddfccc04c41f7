"""cases: hotline filings, preservation and the trusted-flagger register (issue 13) (owned by hostguard.cases)

Revision ID: 0009_hotline_flaggers
Revises: 0008_statement_submissions
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0009_hotline_flaggers"
down_revision = "0008_statement_submissions"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "trusted_flaggers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("coordinator", _text(300), nullable=False),
        sa.Column("member_state", _text(2), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("designated_on", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("designation_reference", _text(200), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("status_reason", _text(1000), nullable=True),
        sa.Column(
            "status_changed_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("flagger_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_api_keys_flagger_id", "trusted_flaggers", ["flagger_id"], ["id"]
        )
        batch.create_index("ix_api_keys_flagger_id", ["flagger_id"])
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("flagger_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_notices_flagger_id", "trusted_flaggers", ["flagger_id"], ["id"]
        )
        batch.create_index("ix_notices_flagger_id", ["flagger_id"])
    with op.batch_alter_table("case_evidence") as batch:
        batch.add_column(sa.Column("uploader_ip_enc", sa.LargeBinary(), nullable=True))
    op.create_table(
        "hotline_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("hotline", _text(100), nullable=False),
        sa.Column("reference", _text(200), nullable=False),
        sa.Column("incident_type", _text(200), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("filed_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_by", _text(200), nullable=False),
        sa.Column("preserve_until", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hotline_reports_case_id", "hotline_reports", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_hotline_reports_case_id", table_name="hotline_reports")
    op.drop_table("hotline_reports")
    with op.batch_alter_table("case_evidence") as batch:
        batch.drop_column("uploader_ip_enc")
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_flagger_id")
        batch.drop_constraint("fk_notices_flagger_id", type_="foreignkey")
        batch.drop_column("flagger_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_flagger_id")
        batch.drop_constraint("fk_api_keys_flagger_id", type_="foreignkey")
        batch.drop_column("flagger_id")
    op.drop_table("trusted_flaggers")
