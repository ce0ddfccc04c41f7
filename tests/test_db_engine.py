"""The SQLite engine runs in WAL mode with foreign keys enforced, on every connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hostguard.db import make_engine, upgrade


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'hostguard.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_sqlite_is_in_wal_mode_with_foreign_keys_on(sqlite_engine):
    for _ in range(2):  # a fresh pooled connection gets the same settings
        with sqlite_engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        sqlite_engine.dispose()


def test_sqlite_refuses_a_row_whose_foreign_key_points_nowhere(sqlite_engine):
    with pytest.raises(IntegrityError), sqlite_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sample_image_hashes (repo_pk, path, algorithm, hash, variants, created_at) "
            "VALUES (424242, 'x.png', 'pdq', 'ab', '[]', '2024-01-01 00:00:00')"
        ))
