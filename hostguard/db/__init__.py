"""Database engine, sessions and schema migrations (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as exc_mod
from sqlalchemy.engine import make_url
from sqlmodel import Session

from hostguard.errors import Conflict

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


# How long a transaction on SQLite waits for the write lock before it fails with "database is
# locked" (SQLite's own busy timeout, and the wait for the lock below).
SQLITE_LOCK_TIMEOUT = 30.0
# An execution option for a transaction that only reads: on SQLite it begins DEFERRED, a
# snapshot that takes no write lock and waits for none (WAL). A write in it would skip the
# writers' queue and fail with "database is locked" if another writer is active: reads only.
# Elsewhere it changes nothing.
READ_ONLY = "hostguard_read_only"


class WriteLock:
    """One SQLite database's write lock, taken before BEGIN IMMEDIATE and held until the end.

    SQLite lets one writer in at a time. A transaction that finds the database locked is put
    to sleep by SQLite's busy handler in growing steps (1, 2, 5, ... up to 100 ms) and tries
    again when it wakes, with no queue: under load a waiting writer sleeps 100 ms at a time
    while others come and go, and can wait seconds (2.7 s at p99, 9 s at worst measured with
    eight threads). Here the writers of a process queue on a thread lock, woken as soon as it
    is free, and the processes sharing the file (web processes, the worker) take turns with
    an flock on `<database>-writelock`, polled every millisecond or two by the one thread of
    each process that holds the thread lock. SQLite's busy timeout stays as the last resort
    for writers outside hostguard (the sqlite3 shell, a backup).
    """

    def __init__(self, database: str):
        self.path = database + "-writelock"
        self.thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, timeout: float = SQLITE_LOCK_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        if not self.thread_lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (waited for the write lock)")
        try:
            fd = self._file()
            pause = 0.0005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError(
                            "database is locked (another process held the write lock)"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


_write_locks: dict[str, WriteLock] = {}
_write_locks_guard = threading.Lock()


def _forget_write_locks_after_fork() -> None:
    """A forked child starts with free locks: a parent's thread may have held one mid-fork."""
    global _write_locks_guard
    _write_locks_guard = threading.Lock()
    for lock in _write_locks.values():
        lock.thread_lock = threading.Lock()
        lock._fd = None


os.register_at_fork(after_in_child=_forget_write_locks_after_fork)


def write_lock_for(database: str) -> WriteLock:
    """The process's one WriteLock for a database file (every engine on it shares it)."""
    key = os.path.realpath(database)
    with _write_locks_guard:
        if key not in _write_locks:
            _write_locks[key] = WriteLock(key)
        return _write_locks[key]


class _LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that gives the write lock back when its transaction ends."""

    write_lock: WriteLock | None = None
    holds_write_lock = False

    def _let_go(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            assert self.write_lock is not None
            if self.write_lock.thread_lock.locked():  # not a connection inherited over a fork
                self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with SQLite in WAL mode, foreign keys on and write transactions serialised."""
    parsed = make_url(url)
    # Never put bound values (personal data, list hashes) into error messages and logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database if parsed.database != ":memory:" else None
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        lock = write_lock_for(database) if database else None
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_LOCK_TIMEOUT,
                "factory": _LockingConnection,
            },
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            dbapi_conn.write_lock = lock
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_LOCK_TIMEOUT * 1000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")  # a snapshot to read; WAL readers wait for no one
                return
            # BEGIN IMMEDIATE takes the write lock up front, so two transactions never
            # deadlock upgrading a read lock; readers are not blocked under WAL. The process's
            # writers queue for it on WriteLock first instead of in SQLite's busy handler.
            dbapi_conn = conn.connection.driver_connection
            if lock is not None and not dbapi_conn.holds_write_lock:
                try:
                    lock.acquire()
                except sqlite3.OperationalError as exc:  # as SQLite's own "database is locked"
                    raise exc_mod.OperationalError("BEGIN IMMEDIATE", None, exc) from exc
                dbapi_conn.holds_write_lock = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn._let_go()
                raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_postgres(bind) -> bool:
    return bind.dialect.name == "postgresql"


def advisory_xact_lock(session: Session, key: int, *, space: int | None = None) -> bool:
    """Wait for a PostgreSQL advisory lock held until the transaction ends; False elsewhere.

    For serialising work that has no row to lock yet (the first audit record, a check not yet
    stored, a model's first open case). SQLite needs none: it runs one writer at a time. `key`
    is a signed 64-bit number, or with `space` two signed 32-bit numbers (a separate key space).
    """
    if not is_postgres(session.get_bind()):
        return False
    if space is None:
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": key})
    else:
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
            {"space": space, "key": key},
        )
    return True


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class SchemaNewerThanCode(Conflict):
    """The database was migrated by a newer release; this code must not touch its schema."""

    code = "schema_newer"

    def __init__(self, revision: str):
        self.revision = revision
        super().__init__(
            f"the database schema ({revision}) is newer than this release knows (its newest is "
            f"{head_revision()}): upgrade hostguard, or run 'hostguard init' from the newer release"
        )


def upgrade(engine_or_url, *, to: str = "head") -> None:
    """Create or upgrade the schema to the newest revision (or `to`); safe to run again.

    Raises SchemaNewerThanCode, before touching anything, when a newer release has already
    migrated the database (alembic would fail on the revision it cannot locate).
    """
    url = engine_or_url if isinstance(engine_or_url, str) else None
    engine = make_engine(url) if url is not None else engine_or_url
    try:
        revision = current_revision(engine)
        # a None revision is SchemaStatus.EMPTY, never NEWER
        if revision is not None and schema_status(revision) is SchemaStatus.NEWER:
            raise SchemaNewerThanCode(revision)
        if revision == (head_revision() if to == "head" else to):
            return
        with engine.connect() as conn:
            _run_upgrade(conn, to)
    finally:
        if url is not None:
            engine.dispose()


def _run_upgrade(conn, to: str) -> None:
    """Upgrade on one connection, in one transaction.

    On SQLite, alembic's batch mode changes a table by rebuilding it (copy, drop, rename), and
    with foreign keys enforced dropping a table that other rows reference fails, so a database
    holding data could not be upgraded. Enforcement is off while the migrations run (it can only
    be switched outside a transaction) and the result is checked before it commits.
    """
    from alembic import command

    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        with conn.begin():
            cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, to)
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    tables = ", ".join(sorted({row[0] for row in broken}))
                    raise Conflict(
                        f"the upgrade would leave rows pointing nowhere in {tables} (list them "
                        "with sqlite3 and PRAGMA foreign_key_check); nothing was changed"
                    )
    finally:
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return _script().get_current_head()


def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


class SchemaStatus(StrEnum):
    """Where a database's schema stands against the migrations this code ships."""

    EMPTY = "empty"  # no schema: run `hostguard init`
    BEHIND = "behind"  # an older revision: run `hostguard init`
    CURRENT = "current"
    # A revision this code does not know: a newer release has migrated. Migrations are
    # additive within a release line, so this code keeps working during a rolling upgrade.
    NEWER = "newer"

    @property
    def serves(self) -> bool:
        """Whether this code can serve on the schema (current, or migrated by a newer release)."""
        return self in (SchemaStatus.CURRENT, SchemaStatus.NEWER)


def schema_status(revision: str | None) -> SchemaStatus:
    if revision is None:
        return SchemaStatus.EMPTY
    if revision == head_revision():
        return SchemaStatus.CURRENT
    return SchemaStatus.BEHIND if revision in known_revisions() else SchemaStatus.NEWER


def has_schema(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()
