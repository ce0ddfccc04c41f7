"""The migration history builds exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import hostguard.registry  # noqa: F401
from hostguard.db import current_revision, head_revision, upgrade


def test_models_and_migrations_agree(runtime):
    with runtime.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_upgrade_is_idempotent(runtime):
    upgrade(runtime.engine)
    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()
