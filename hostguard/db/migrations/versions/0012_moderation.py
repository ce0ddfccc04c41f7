"""cases: moderation tools (issue 16) (owned by hostguard.cases)

Claim leases: `cases.claim_active_at`, the holder's last activity on a claimed case.

Search (`hostguard/cases/search.py`): the words of notices' explanations, moderators' notes and
decisions' explanations, indexed by each database's own full-text search. On PostgreSQL a GIN
index on `to_tsvector('simple', ...)` of each column; on SQLite an FTS5 table per column,
external-content (the text stays in its table only) and kept in step by triggers.

Revision ID: 0012_moderation
Revises: 0011_matching
"""

import sqlalchemy as sa
from alembic import op

from hostguard.db.types import UTCDateTime

revision = "0012_moderation"
down_revision = "0011_matching"
branch_labels = None
depends_on = None

# (FTS table or index name, indexed table, its text column): see hostguard.cases.search
SEARCHED = (
    ("search_notices", "notices", "explanation"),
    ("search_notes", "case_notes", "body"),
    ("search_decisions", "decisions", "explanation"),
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("claim_active_at", UTCDateTime(timezone=True), nullable=True))
    # a claim held before leases existed starts its lease when it was claimed
    op.execute("UPDATE cases SET claim_active_at = claimed_at WHERE assigned_to IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        for name, table, column in SEARCHED:
            op.execute(
                f"CREATE INDEX ix_{name} ON {table} USING gin (to_tsvector('simple', {column}))"
            )
        return
    for name, table, column in SEARCHED:
        op.execute(
            f"CREATE VIRTUAL TABLE {name} USING fts5({column}, content='{table}', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            f"CREATE TRIGGER {name}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {name}(rowid, {column}) VALUES (new.id, new.{column}); END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {name}({name}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            "END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_au AFTER UPDATE OF {column} ON {table} BEGIN "
            f"INSERT INTO {name}({name}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"INSERT INTO {name}(rowid, {column}) VALUES (new.id, new.{column}); END"
        )
        op.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_{name}")
    else:
        for name, _table, _column in SEARCHED:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {name}")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("claim_active_at")
