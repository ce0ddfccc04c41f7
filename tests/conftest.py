"""Shared fixtures: every database-backed test runs on SQLite and on PostgreSQL.

PostgreSQL comes from HOSTGUARD_TEST_POSTGRES_URL (default: the local server at
127.0.0.1:5432, database `test`). Each test process creates its own database on that server,
migrates it once and empties it between tests. If PostgreSQL cannot be reached the
PostgreSQL half of the suite errors: it is never skipped.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import hostguard.registry  # noqa: F401  (every table, job handler and actioner, as a process has at start)
from hostguard.config import Settings
from hostguard.db import make_engine, upgrade
from hostguard.hashing import snapshots
from hostguard.keys import ensure_keys
from hostguard.runtime import Runtime

POSTGRES_URL = os.environ.get(
    "HOSTGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    b for b in os.environ.get("HOSTGUARD_TEST_DATABASES", "sqlite,postgresql").split(",") if b
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A fresh database for this test process on the PostgreSQL server, migrated once."""
    admin_url = make_url(POSTGRES_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"hostguard_test_{worker}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "hostguard.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        base_url="http://127.0.0.1",
        log_json=False,
    )


@pytest.fixture
def runtime(settings) -> Runtime:
    ensure_keys(settings)
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def pg_runtime(postgres_database, tmp_path) -> Runtime:
    """A runtime on PostgreSQL only, for tests about many processes sharing one database."""
    _truncate_postgres(postgres_database)
    settings = Settings(
        env="test", data_dir=tmp_path / "var", database_url=postgres_database, log_json=False
    )
    ensure_keys(settings)
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture(autouse=True)
def _snapshot_sharing_is_per_test():
    """A web app or CLI command made in a test turns index snapshots on for the whole process
    (`snapshots.configure`, as a real process does at start), in that test's folder; the next
    test starts as the last one did not, so a removed folder is never written to."""
    before = snapshots.configured_directory()
    yield
    if snapshots.configured_directory() != before:
        snapshots.configure(before)


@pytest.fixture
def db(runtime):
    from sqlmodel import Session

    session = Session(runtime.engine, expire_on_commit=False)
    yield session
    session.rollback()
    session.close()


# --- web ---------------------------------------------------------------------------------------


@pytest.fixture
def app(runtime):
    from hostguard.web import create_app

    flask_app = create_app(runtime=runtime)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def csrf_token():
    """csrf_token(client, url) -> the token from the form on that page."""

    def get(client, url: str) -> str:
        return extract_csrf(client.get(url).get_data(as_text=True))

    return get


@pytest.fixture
def make_user(runtime):
    """make_user(role, email=None) -> (User, password)."""
    from hostguard.accounts.service import create_user

    def make(role: str, email: str | None = None):
        password = secrets.token_urlsafe(16)
        email = email or f"{role}-{secrets.token_hex(3)}@example.org"
        with runtime.session() as session:
            user = create_user(
                session=session, email=email, password=password, role=role, actor="test"
            )
        return user, password

    return make


@pytest.fixture
def login(make_user, csrf_token):
    """login(client, role) -> User, signed in through the real login form."""

    def do(client, role: str):
        user, password = make_user(role)
        token = csrf_token(client, "/console/login")
        response = client.post(
            "/console/login", data={"email": user.email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return do


@pytest.fixture
def api_headers(runtime, make_user):
    """api_headers(scope, user=None) -> {"Authorization": "Bearer ..."} for a new key."""
    from hostguard.accounts.service import create_api_key

    def make(scope: str, user=None) -> dict[str, str]:
        if scope == "moderator" and user is None:
            user, _ = make_user("moderator")
        with runtime.session() as session:
            _, plaintext = create_api_key(
                session=session,
                name=f"test {scope}",
                scopes=[scope],
                user_email=user.email if user else None,
                actor="test",
            )
        return {"Authorization": f"Bearer {plaintext}"}

    return make


def cli_env(runtime) -> dict:
    """The environment that points the CLI at this runtime's data dir and database."""
    return {
        "HOSTGUARD_DATA_DIR": str(runtime.settings.data_dir),
        "HOSTGUARD_DATABASE_URL": runtime.settings.effective_database_url,
        "HOSTGUARD_ENV": "test",
        "HOSTGUARD_LOG_JSON": "false",
        "HOSTGUARD_BASE_URL": runtime.settings.base_url,
    }


@pytest.fixture
def cli(runtime):
    """cli("audit", "verify", input=None) -> click Result, run against this test's database."""
    from hostguard.cli import main

    runner = CliRunner()
    env = cli_env(runtime)

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app, runtime):
    """A real HTTP server on 127.0.0.1 serving this test's app; `.url` is its base URL."""
    server = LiveServer(app)
    runtime.settings.base_url = server.url
    server.start()
    yield server
    server.stop()


# --- browser -----------------------------------------------------------------------------------

CHROMIUM = os.environ.get("HOSTGUARD_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser page; a screenshot of its last state is kept in test-artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


# --- no silent skips ---------------------------------------------------------------------------


def pytest_sessionfinish(session, exitstatus):
    """A skipped test is a gap, not a pass: the run fails unless skips are explicitly allowed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0 and not os.environ.get("HOSTGUARD_TEST_ALLOW_SKIPS"):
        reporter.write_line(
            f"{skipped} test(s) were skipped; the suite must run in full "
            "(set HOSTGUARD_TEST_ALLOW_SKIPS=1 only while developing)",
            red=True,
        )
        session.exitstatus = 1
