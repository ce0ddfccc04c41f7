"""cases: named queues, languages and merged duplicates, saved filters, quality samples, users'
teams, and automatic suspensions as decisions (issue 16) (owned by hostguard.cases)

Revision ID: 0017_queues
Revises: 0015_exchange_leases
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0017_queues"
down_revision = "0015_exchange_leases"
branch_labels = None
depends_on = None

STR = sqlmodel.sql.sqltypes.AutoString
TS = hostguard.db.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("queue", STR(length=64), nullable=True))
        batch.add_column(sa.Column("language", STR(length=8), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
    op.create_index("ix_cases_queue_name", "cases", ["queue"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("teams", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("sanctions") as batch:
        batch.add_column(sa.Column("statement", STR(), nullable=True))
        batch.add_column(sa.Column("tdb", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("lifted_at", TS(timezone=True), nullable=True))
    op.create_table(
        "sanction_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sanction_id", sa.Integer(), nullable=False),
        sa.Column("reason", STR(length=5000), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("outcome", STR(length=16), nullable=True),
        sa.Column("explanation", STR(length=2000), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("filed_at", TS(timezone=True), nullable=False),
        sa.Column("decided_at", TS(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sanction_id"], ["sanctions.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sanction_appeals_sanction_id", "sanction_appeals", ["sanction_id"])
    op.create_index("ix_sanction_appeals_status", "sanction_appeals", ["status"])
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", STR(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", TS(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name"),
    )
    op.create_index("ix_saved_filters_user_id", "saved_filters", ["user_id"])
    op.create_table(
        "quality_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("first_reviewer", sa.Integer(), nullable=True),
        sa.Column("category", STR(length=64), nullable=False),
        sa.Column("status", STR(length=16), nullable=False),
        sa.Column("reviewer", sa.Integer(), nullable=True),
        sa.Column("action", STR(length=32), nullable=True),
        sa.Column("ground", STR(length=32), nullable=True),
        sa.Column("review_category", STR(length=64), nullable=True),
        sa.Column("agrees", sa.Boolean(), nullable=True),
        sa.Column("created_at", TS(timezone=True), nullable=False),
        sa.Column("submitted_at", TS(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"]),
        sa.ForeignKeyConstraint(["first_reviewer"], ["users.id"]),
        sa.ForeignKeyConstraint(["reviewer"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id"),
    )
    op.create_index("ix_quality_samples_case_id", "quality_samples", ["case_id"])
    op.create_index("ix_quality_samples_status", "quality_samples", ["status"])


def downgrade() -> None:
    op.drop_table("quality_samples")
    op.drop_table("saved_filters")
    op.drop_table("sanction_appeals")
    with op.batch_alter_table("sanctions") as batch:
        batch.drop_column("lifted_at")
        batch.drop_column("tdb")
        batch.drop_column("statement")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("teams")
    op.drop_index("ix_cases_queue_name", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("merged_into")
        batch.drop_column("language")
        batch.drop_column("queue")
