"""cases: indexes for the dashboard and search at a million cases (issue 16) (owned by hostguard.cases)

The team dashboard (`hostguard/cases/dashboard.py`) reads each figure from one covering index:
open cases by status (depth by queue and category, overdue by deadline), cases decided in a
period (deadlines met by source, time to decision), decisions and appeals decided in a period.

Search (`hostguard/cases/search.py`): part of a model id through trigrams (PostgreSQL's
`pg_trgm` GIN index on `lower(repo_id)`; on SQLite an external-content FTS5 `trigram` table
kept in step by triggers), uploader names and order references through indexes on their
lower-cased values. On PostgreSQL the words of notices, notes and decisions get a stored
generated `tsvector` column each (`search_<what>_tsv`), and the GIN indexes of 0012 are rebuilt
on it: ranking and re-checking a match then read the stored vector instead of parsing the text
again, which at a million rows was most of a word search's time. `benchmarks/cases/scale.py`
measures both.

Revision ID: 0018_case_indexes
Revises: 0017_queues
"""

from alembic import op

revision = "0018_case_indexes"
down_revision = "0017_queues"
branch_labels = None
depends_on = None

# (FTS table or index name, indexed table, its text column): see hostguard.cases.search
SEARCHED = (
    ("search_notices", "notices", "explanation"),
    ("search_notes", "case_notes", "body"),
    ("search_decisions", "decisions", "explanation"),
)
# (name, table, columns): declared on the models too
COVERING = (
    ("ix_cases_open_depth", "cases", ["status", "escalated_to", "category", "assigned_to"]),
    ("ix_cases_open_deadline", "cases", ["status", "deadline_at", "category"]),
    ("ix_cases_decided", "cases", ["decided_at", "source", "deadline_at", "opened_at"]),
    ("ix_decisions_made", "decisions", ["decided_at", "decided_by", "actor"]),
    ("ix_appeals_decided", "appeals", ["decided_at", "outcome"]),
)


def upgrade() -> None:
    for name, table, columns in COVERING:
        op.create_index(name, table, columns)
    op.execute("CREATE INDEX ix_search_uploaders ON uploaders (lower(username))")
    op.execute("CREATE INDEX ix_search_orders ON authority_orders (lower(reference))")
    if op.get_bind().dialect.name == "postgresql":
        for name, table, column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_{name}")
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {name}_tsv tsvector "
                f"GENERATED ALWAYS AS (to_tsvector('simple', {column})) STORED"
            )
            op.execute(f"CREATE INDEX ix_{name} ON {table} USING gin ({name}_tsv)")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_search_repos ON model_repos USING gin (lower(repo_id) gin_trgm_ops)"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_repos USING fts5(repo_id, content='model_repos', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER search_repos_ai AFTER INSERT ON model_repos BEGIN "
        "INSERT INTO search_repos(rowid, repo_id) VALUES (new.id, new.repo_id); END"
    )
    op.execute(
        "CREATE TRIGGER search_repos_ad AFTER DELETE ON model_repos BEGIN "
        "INSERT INTO search_repos(search_repos, rowid, repo_id) "
        "VALUES ('delete', old.id, old.repo_id); END"
    )
    op.execute(
        "CREATE TRIGGER search_repos_au AFTER UPDATE OF repo_id ON model_repos BEGIN "
        "INSERT INTO search_repos(search_repos, rowid, repo_id) "
        "VALUES ('delete', old.id, old.repo_id); "
        "INSERT INTO search_repos(rowid, repo_id) VALUES (new.id, new.repo_id); END"
    )
    op.execute("INSERT INTO search_repos(search_repos) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_repos")
        for name, table, column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_{name}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}_tsv")
            op.execute(
                f"CREATE INDEX ix_{name} ON {table} USING gin (to_tsvector('simple', {column}))"
            )
    else:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS search_repos_{suffix}")
        op.execute("DROP TABLE IF EXISTS search_repos")
    op.execute("DROP INDEX IF EXISTS ix_search_orders")
    op.execute("DROP INDEX IF EXISTS ix_search_uploaders")
    for name, table, _columns in reversed(COVERING):
        op.drop_index(name, table_name=table)
