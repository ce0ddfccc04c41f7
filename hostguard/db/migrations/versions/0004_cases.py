"""notice-and-action: notices, orders, decisions, appeals, outbox (owned by hostguard.cases)

Revision ID: 0004_cases
Revises: 0003_uploads
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hostguard.db.types

revision = "0004_cases"
down_revision = "0003_uploads"
branch_labels = None
depends_on = None

UTC = hostguard.db.types.UTCDateTime(timezone=True)


def S(n):  # noqa: N802
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _index(table, *cols, unique=False, name=None):
    with op.batch_alter_table(table, schema=None) as batch_op:
        for col in cols:
            batch_op.create_index(batch_op.f(f"ix_{table}_{col}"), [col], unique=unique)


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_to", S(16), nullable=True))
        batch_op.add_column(
            sa.Column("automated", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "notifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", S(32), nullable=False),
        sa.Column("email_digest", S(64), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("organisation", S(200), nullable=True),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.Column("unfounded", sa.Integer(), nullable=False),
        sa.Column("status", S(16), nullable=False),
        sa.Column("warned_at", UTC, nullable=True),
        sa.Column("suspended_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key_id"),
        sa.UniqueConstraint("email_digest"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notifier_id", sa.Integer(), nullable=True),
        sa.Column("source", S(32), nullable=False),
        sa.Column("category", S(64), nullable=False),
        sa.Column("explanation", S(10000), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("client_digest", S(64), nullable=True),
        sa.Column("status", S(16), nullable=False),
        sa.Column("outcome", S(16), nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["notifier_id"], ["notifiers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("notices", "client_digest", "notifier_id", "received_at")
    op.create_table(
        "notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("repo_id", S(300), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "case_id"),
    )
    _index("notice_items", "case_id", "notice_id")
    op.create_table(
        "authority_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authority", S(300), nullable=False),
        sa.Column("member_state", S(8), nullable=False),
        sa.Column("reference", S(200), nullable=False),
        sa.Column("legal_basis", S(2000), nullable=False),
        sa.Column("category", S(64), nullable=False),
        sa.Column("explanation", S(10000), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("territorial_scope", sa.JSON(), nullable=False),
        sa.Column("deadline_at", UTC, nullable=True),
        sa.Column("feedback_to_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", S(16), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("effect_at", UTC, nullable=True),
        sa.Column("feedback", S(10000), nullable=True),
        sa.Column("feedback_sent_at", UTC, nullable=True),
        sa.Column("created_by", S(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("created_by", "reference"),
    )
    _index("authority_orders", "received_at", "reference")
    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("repo_id", S(300), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["authority_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "case_id"),
    )
    _index("order_items", "case_id", "order_id")
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", S(32), nullable=False),
        sa.Column("ground", S(32), nullable=False),
        sa.Column("ground_reference", S(500), nullable=False),
        sa.Column("category", S(64), nullable=False),
        sa.Column("explanation", S(2000), nullable=False),
        sa.Column("restrict_mode", S(16), nullable=True),
        sa.Column("escalated_to", S(16), nullable=True),
        sa.Column("territorial_scope", sa.JSON(), nullable=False),
        sa.Column("end_date", UTC, nullable=True),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("actor", S(64), nullable=False),
        sa.Column("decided_at", UTC, nullable=False),
        sa.Column("reversed_at", UTC, nullable=True),
        sa.Column("reversed_by_appeal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("decisions", "case_id", "decided_at")
    op.create_table(
        "statements_of_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("puid", S(500), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tdb", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("submission_error", S(2000), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id"),
        sa.UniqueConstraint("puid"),
    )
    _index("statements_of_reasons", "case_id", "created_at")
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("appellant", S(16), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("reason", S(5000), nullable=False),
        sa.Column("status", S(16), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("outcome", S(16), nullable=True),
        sa.Column("explanation", S(2000), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("filed_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("actor", S(64), nullable=False),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("appeals", "case_id", "decision_id", "filed_at", "status")
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", S(64), nullable=False),
        sa.Column("body", S(5000), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("case_notes", "case_id")
    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("other_case_id", sa.Integer(), nullable=False),
        sa.Column("reason", S(500), nullable=False),
        sa.Column("created_by", S(64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["other_case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "other_case_id"),
    )
    _index("case_links", "case_id", "other_case_id")
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("recipient", S(64), nullable=False),
        sa.Column("kind", S(32), nullable=False),
        sa.Column("subject", S(300), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", S(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", S(2000), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("notifications", "case_id", "status")
    op.create_table(
        "sanctions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", S(220), nullable=False),
        sa.Column("action", S(16), nullable=False),
        sa.Column("reason", S(32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("until", UTC, nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("sanctions", "at")


def downgrade() -> None:
    for table in (
        "sanctions",
        "notifications",
        "case_links",
        "case_notes",
        "appeals",
        "statements_of_reasons",
        "decisions",
        "order_items",
        "authority_orders",
        "notice_items",
        "notices",
        "notifiers",
    ):
        op.drop_table(table)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("automated")
        batch_op.drop_column("escalated_to")
