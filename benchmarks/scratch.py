"""Databases a benchmark makes for itself: scratch ones dropped after the run, seeded ones kept.

`scratch_postgres(prefix)` and `scratch_sqlite(filename)` hand a benchmark an empty database
(or a copy of a seeded template) and remove it when the block ends, by an error or Ctrl-C too,
so no run leaves a `hostguard_*` database on the shared server. A benchmark whose databases
outlive one process (seeded by `--prepare`, measured by a later run) uses the steps below them:
`create_database`, `drop_database`, `database_url`; `seeded_database` makes a template once and
keeps it for every later run.
"""

from __future__ import annotations

import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# the development machine's server (trust authentication), the same as the tests'
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scratch_name(prefix: str) -> str:
    """A database name no other run uses: `<prefix>_<8 hex digits>`."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def database_url(server: str, name: str) -> str:
    """The URL of database `name` on `server` (any database's URL there), password kept."""
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _run(server: str, *statements: str) -> None:
    """Statements outside a transaction (as CREATE and DROP DATABASE must run) on `server`."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def create_database(server: str, name: str, *, template: str | None = None) -> None:
    """A new database `name` on `server`, empty or a copy of `template`."""
    copied = f' TEMPLATE "{template}"' if template else ""
    _run(server, f'CREATE DATABASE "{name}"{copied}')


def drop_database(server: str, name: str) -> None:
    """Drop `name` if it is there, ending its sessions (a server process a benchmark started
    may still hold one). A Ctrl-C while it drops waits until it has."""
    with _no_interrupt():
        _run(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_postgres(
    prefix: str, *, server: str = POSTGRES, template: str | None = None
) -> Iterator[str]:
    """A new database on `server` named `<prefix>_<8 hex>` (a copy of `template`, if named):
    yields its URL and drops it when the block ends, however it ends."""
    name = scratch_name(prefix)
    try:
        create_database(server, name, template=template)
        yield database_url(server, name)
    finally:
        drop_database(server, name)


@contextmanager
def scratch_sqlite(filename: str) -> Iterator[str]:
    """The URL of a SQLite database `filename` in a new temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / filename}"


def seeded_database(name: str, seed: Callable[[str], None], *, server: str = POSTGRES) -> bool:
    """Make database `name` once, kept for later runs (a template to copy): `seed(url)` fills
    it under the name `<name>_partial`, renamed only when seeding is done, so a run stopped
    halfway leaves no half-seeded `name`. Returns whether it was made now."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists.first() is not None:
                return False
    finally:
        admin.dispose()
    partial = f"{name}_partial"
    create_database(server, partial)
    try:
        seed(database_url(server, partial))
    except BaseException:
        drop_database(server, partial)
        raise
    _run(server, f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    return True


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Ctrl-C (SIGINT) ignored for the block, in the main thread (elsewhere it cannot be)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
