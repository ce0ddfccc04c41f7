"""uploads, know-your-uploader, certifications, deliveries (owned by hostguard.uploads and hostguard.integrations)

Revision ID: 0003_uploads
Revises: 0002_hashing
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0003_uploads"
down_revision = "0002_hashing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_created_at"), "webhook_deliveries", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_deliveries_event"), "webhook_deliveries", ["event"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status"), "webhook_deliveries", ["status"], unique=False
    )
    op.create_table(
        "kyu_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uploader_pk", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("legal_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("address_enc", sa.LargeBinary(), nullable=True),
        sa.Column("country_enc", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=True),
        sa.Column("document_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("rejection_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redacted_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_pk"],
            ["uploaders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_kyu_submissions_expires_at"), "kyu_submissions", ["expires_at"], unique=False
    )
    op.create_index(op.f("ix_kyu_submissions_status"), "kyu_submissions", ["status"], unique=False)
    op.create_index(
        op.f("ix_kyu_submissions_uploader_pk"), "kyu_submissions", ["uploader_pk"], unique=False
    )
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certification_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("uploader_pk", sa.Integer(), nullable=False),
        sa.Column("repo_pk", sa.Integer(), nullable=False),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("statements", sa.JSON(), nullable=False),
        sa.Column("signed_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("signed_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_pk"],
            ["model_repos.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploader_pk"],
            ["uploaders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("certification_id"),
    )
    op.create_index(op.f("ix_certifications_repo_pk"), "certifications", ["repo_pk"], unique=False)
    op.create_index(
        op.f("ix_certifications_revision"), "certifications", ["revision"], unique=False
    )
    op.create_index(
        op.f("ix_certifications_uploader_pk"), "certifications", ["uploader_pk"], unique=False
    )
    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kyu_pk", sa.Integer(), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["kyu_pk"],
            ["kyu_submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_personal_data_access_at"), "personal_data_access", ["at"], unique=False
    )
    op.create_index(
        op.f("ix_personal_data_access_kyu_pk"), "personal_data_access", ["kyu_pk"], unique=False
    )
    op.create_table(
        "upload_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("repo_pk", sa.Integer(), nullable=False),
        sa.Column("uploader_pk", sa.Integer(), nullable=True),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("watermark", sa.JSON(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("created_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hostguard.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_pk"],
            ["model_repos.id"],
        ),
        sa.ForeignKeyConstraint(
            ["uploader_pk"],
            ["uploaders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("check_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index(
        op.f("ix_upload_checks_created_at"), "upload_checks", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_upload_checks_decision"), "upload_checks", ["decision"], unique=False)
    op.create_index(op.f("ix_upload_checks_repo_pk"), "upload_checks", ["repo_pk"], unique=False)
    op.create_index(
        op.f("ix_upload_checks_uploader_pk"), "upload_checks", ["uploader_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_table("upload_checks")
    op.drop_table("personal_data_access")
    op.drop_table("certifications")
    op.drop_table("kyu_submissions")
    op.drop_table("webhook_deliveries")
