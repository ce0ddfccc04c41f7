"""/healthz, /readyz and `hostguard health`: ready when the database answers with this code's
schema or a newer one (a rolling upgrade has migrated), not when the schema is missing or behind."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text

from hostguard.config import Settings
from hostguard.db import head_revision
from hostguard.keys import ensure_keys
from hostguard.runtime import Runtime


def _client_for(database_url: str, tmp_path):
    from hostguard.web import create_app

    settings = Settings(
        env="test", data_dir=tmp_path / "var", database_url=database_url, log_json=False
    )
    ensure_keys(settings)
    runtime = Runtime(settings)
    app = create_app(runtime=runtime)
    app.config.update(TESTING=True)
    return app.test_client(), runtime


def test_ready_when_the_schema_is_the_newest(client):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"


def test_not_ready_when_the_schema_is_behind(tmp_path):
    from alembic import command

    from hostguard.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001_core")
    client, runtime = _client_for(url, tmp_path)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "unavailable" and body["revision"] == "0001_core"
        assert "hostguard init" in body["database"]
        assert client.get("/healthz").status_code == 200  # alive, only not ready
    finally:
        runtime.close()


def test_not_ready_without_any_schema(tmp_path):
    client, runtime = _client_for(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.get_json()["revision"] is None
    finally:
        runtime.close()


def test_not_ready_when_the_database_is_unreachable(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client, runtime = _client_for(
        f"postgresql+psycopg://postgres:secret-pw@127.0.0.1:{port}/test", tmp_path
    )
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
        assert "secret-pw" not in response.get_data(as_text=True)
    finally:
        runtime.close()


NEWER_REVISION = "9999_from_a_newer_release"


def stamp(engine, revision: str) -> None:
    """Set the schema's revision as a release this code does not know would have left it."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})


@pytest.fixture
def restamped(runtime):
    """Puts the head revision back: the PostgreSQL test database outlives this test."""
    yield runtime
    stamp(runtime.engine, head_revision())


def test_ready_when_a_newer_release_has_migrated(client, restamped):
    runtime = restamped
    stamp(runtime.engine, NEWER_REVISION)
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "revision": NEWER_REVISION, "schema": "newer"}


def test_health_command_is_healthy_on_a_newer_schema_and_not_on_an_older_one(cli, restamped):
    runtime = restamped
    assert cli("health").exit_code == 0
    stamp(runtime.engine, NEWER_REVISION)
    newer = cli("health")
    assert newer.exit_code == 0, newer.output
    assert "newer release" in newer.output
    stamp(runtime.engine, "0001_core")
    behind = cli("health")
    assert behind.exit_code == 1
    assert "0001_core" in behind.stderr and "hostguard init" in behind.stderr
