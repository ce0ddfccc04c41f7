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


# --- SQLite's writers queue on one write lock per database (see hostguard.db.WriteLock) ---------


def _lock_taken_elsewhere(path: str) -> bool:
    """Whether some open file (this process's or another's) holds the database's flock."""
    import fcntl
    import os

    fd = os.open(path + "-writelock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_write_lock_until_it_ends(sqlite_engine):
    from sqlmodel import Session

    from hostguard.db import write_lock_for

    path = sqlite_engine.url.database
    lock = write_lock_for(path)
    for end in ("commit", "rollback", "close", "error"):
        session = Session(sqlite_engine)
        session.execute(text("SELECT count(*) FROM api_keys"))
        assert lock.thread_lock.locked(), end
        assert _lock_taken_elsewhere(path), end  # other processes wait too
        if end == "error":
            with pytest.raises(IntegrityError):
                session.execute(
                    text(
                        "INSERT INTO sample_image_hashes (repo_pk, path, algorithm, hash, variants, "
                        "created_at) VALUES (424242, 'x', 'pdq', 'ab', '[]', '2024-01-01')"
                    )
                )
            session.rollback()
        else:
            getattr(session, end)()
        session.close()
        assert not lock.thread_lock.locked(), end
        assert not _lock_taken_elsewhere(path), end


def test_a_read_only_transaction_neither_takes_nor_waits_for_the_write_lock(sqlite_engine):
    from sqlmodel import Session

    from hostguard.db import READ_ONLY, write_lock_for

    lock = write_lock_for(sqlite_engine.url.database)
    with Session(sqlite_engine) as writer:
        writer.execute(text("SELECT count(*) FROM api_keys"))  # a write transaction
        assert lock.thread_lock.locked()
        with Session(sqlite_engine.execution_options(**{READ_ONLY: True})) as reader:
            # the same thread: a write transaction here would wait 30 s for its own lock
            assert reader.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0
            reader.commit()
        writer.rollback()
    assert not lock.thread_lock.locked()


def test_writers_in_another_process_wait_for_the_write_lock(sqlite_engine):
    """The web processes and the worker take turns on one lock file, not in SQLite's busy sleeps."""
    import sqlite3
    import subprocess
    import sys
    import time

    from hostguard.db import write_lock_for

    path = sqlite_engine.url.database
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from sqlmodel import Session\n"
            "from sqlalchemy import text\n"
            "from hostguard.db import make_engine\n"
            f"s = Session(make_engine('sqlite:///{path}'))\n"
            "s.execute(text('SELECT 1 FROM api_keys'))\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n"
            "s.commit()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="another process"):
            write_lock_for(path).acquire(timeout=0.3)
        assert time.monotonic() - started < 5
        assert not write_lock_for(path).thread_lock.locked()  # given back on failure
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with sqlite_engine.begin() as conn:  # the holder is gone: the next writer goes ahead
        conn.execute(text("SELECT 1 FROM api_keys"))
