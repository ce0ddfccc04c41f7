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
        conn.execute(
            text(
                "INSERT INTO sample_image_hashes (repo_pk, path, algorithm, hash, variants, created_at) "
                "VALUES (424242, 'x.png', 'pdq', 'ab', '[]', '2024-01-01 00:00:00')"
            )
        )


@pytest.mark.parametrize("space", [None, 7])
def test_advisory_lock_is_held_until_the_transaction_ends(runtime, space):
    from sqlmodel import Session

    from hostguard.db import advisory_xact_lock, is_postgres

    probe = (
        "SELECT pg_try_advisory_xact_lock(CAST(:key AS bigint))"
        if space is None
        else "SELECT pg_try_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"
    )
    with Session(runtime.engine) as holder, Session(runtime.engine) as other:
        held = advisory_xact_lock(holder, 4242, space=space)
        assert held == is_postgres(runtime.engine)
        if not held:
            return  # SQLite: nothing to hold, its writers are serialised
        taken = other.execute(text(probe), {"key": 4242, "space": space}).scalar()
        assert taken is False, "a second transaction got the lock the first one holds"
        other.rollback()
        holder.commit()  # the lock ends with the transaction
        assert other.execute(text(probe), {"key": 4242, "space": space}).scalar() is True
        other.rollback()
