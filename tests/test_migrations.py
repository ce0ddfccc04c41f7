"""The migration history builds exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import hostguard.registry  # noqa: F401
from hostguard.cases.search import is_search_object
from hostguard.db import current_revision, head_revision, upgrade


def _described_by_models(obj, name, type_, reflected, compare_to) -> bool:
    """The full-text search indexes are each database's own (FTS5 tables, GIN expression
    indexes): migration 0012 makes them, no model describes them."""
    return not is_search_object(name)


def test_models_and_migrations_agree(runtime):
    with runtime.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": _described_by_models}
        )
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_upgrade_is_idempotent(runtime):
    upgrade(runtime.engine)
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()
