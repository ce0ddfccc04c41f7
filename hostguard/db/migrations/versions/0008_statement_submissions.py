"""cases: Transparency Database submission state of each statement (issue 13) (owned by hostguard.cases)

Revision ID: 0008_statement_submissions
Revises: 0007_notice_item_location
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0008_statement_submissions"
down_revision = "0007_notice_item_location"
branch_labels = None
depends_on = None

UTC = hostguard.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("statements_of_reasons") as batch:
        batch.add_column(
            sa.Column(
                "submission_state",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="pending",
            )
        )
        batch.add_column(
            sa.Column("submission_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("last_attempt_at", UTC, nullable=True))
        batch.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
        batch.add_column(
            sa.Column("tdb_uuid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.create_index(
            "ix_statements_of_reasons_submission_state", ["submission_state"], unique=False
        )
    # Statements the database accepted before: submitted. One whose last attempt failed is
    # retried, and looked up by puid first (its attempt count is not 0).
    op.execute(
        "UPDATE statements_of_reasons SET submission_state = 'submitted' "
        "WHERE submitted_at IS NOT NULL"
    )
    op.execute(
        "UPDATE statements_of_reasons SET submission_state = 'failed', submission_attempts = 1, "
        "next_attempt_at = created_at WHERE submitted_at IS NULL AND submission_error IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("statements_of_reasons") as batch:
        batch.drop_index("ix_statements_of_reasons_submission_state")
        batch.drop_column("tdb_uuid")
        batch.drop_column("next_attempt_at")
        batch.drop_column("last_attempt_at")
        batch.drop_column("submission_attempts")
        batch.drop_column("submission_state")
