"""Database engine, sessions and schema migrations (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from hostguard.errors import Conflict

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with SQLite in WAL mode, foreign keys on and write transactions serialised."""
    parsed = make_url(url)
    # Never put bound values (personal data, list hashes) into error messages and logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # BEGIN IMMEDIATE takes the write lock up front, so two transactions never
            # deadlock upgrading a read lock; readers are not blocked under WAL.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

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
