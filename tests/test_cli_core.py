"""`hostguard init` and `hostguard demo` on a fresh data dir."""

import re

import pytest
from PIL import Image
from sqlmodel import select

from hostguard.accounts.models import ApiKey, User
from hostguard.audit.models import AuditRecord


def test_init_is_idempotent_and_creates_keys(cli, runtime):
    first = cli("init")
    assert first.exit_code == 0, first.output
    second = cli("init")
    assert second.exit_code == 0
    assert "up to date" in second.output
    keys = sorted(p.name for p in runtime.settings.keys_dir.iterdir())
    assert keys == ["encryption.keys", "secret_key", "signing_ed25519.pem"]
    assert (runtime.settings.keys_dir.stat().st_mode & 0o077) == 0


def test_demo_prints_working_credentials(cli, client, csrf_token, runtime):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    match = re.search(r"moderator\s+(\S+@\S+)\s+(\S+)", result.output)
    assert match, result.output
    email, password = match.groups()
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302
    key = re.search(r"(hg_\w+_\S+)", result.output).group(1)
    assert (
        client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    # running it again keeps one set of accounts, with fresh passwords and a fresh working key
    again = cli("demo")
    assert again.exit_code == 0
    new_key = re.search(r"(hg_\w+_\S+)", again.output).group(1)
    assert new_key != key
    assert (
        client.get(
            "/api/v1/openapi.json", headers={"Authorization": f"Bearer {new_key}"}
        ).status_code
        == 200
    )
    assert (
        client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )
    new_password = re.search(r"moderator\s+\S+@\S+\s+(\S+)", again.output).group(1)
    token = csrf_token(client, "/console/login")
    client.post("/console/logout", data={"csrf_token": token})
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login", data={"email": email, "password": new_password, "csrf_token": token}
    )
    assert response.status_code == 302
    with runtime.session() as session:
        assert len(session.exec(select(User)).all()) == 5
        keys = session.exec(select(ApiKey)).all()
        assert [k.revoked_at is None for k in keys] == [False, True]
        audit = [
            (r.action, r.actor, r.reason)
            for r in session.exec(select(AuditRecord).order_by(AuditRecord.seq))
        ]
    resets = [a for a in audit if a[0] == "user.password_set"]
    assert len(resets) == 5 and all(
        actor.startswith("cli") and reason for _, actor, reason in resets
    )
    assert ("apikey.revoke", resets[0][1], None) in audit


def test_serve_without_schema_says_run_init(tmp_path):
    from click.testing import CliRunner

    from hostguard.cli import main

    result = CliRunner().invoke(
        main,
        ["serve"],
        env={"HOSTGUARD_DATA_DIR": str(tmp_path / "empty"), "HOSTGUARD_DATABASE_URL": ""},
    )
    assert result.exit_code == 2
    assert "hostguard init" in result.stderr


def _fresh_cli(env: dict[str, str], *args: str):
    from click.testing import CliRunner

    from hostguard.cli import main

    return CliRunner().invoke(
        main, list(args), env={"HOSTGUARD_ENV": "test", "HOSTGUARD_LOG_JSON": "false", **env}
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [["scan", "IMAGE"], ["hashlist", "list"], ["audit", "verify"], ["apikey", "revoke", "1"]],
)
def test_commands_before_init_say_run_init_in_one_line_and_exit_2(tmp_path, command):
    image = tmp_path / "sample.png"
    Image.new("RGB", (64, 64), "teal").save(image)
    args = [str(image) if part == "IMAGE" else part for part in command]
    result = _fresh_cli(
        {"HOSTGUARD_DATA_DIR": str(tmp_path / "fresh"), "HOSTGUARD_DATABASE_URL": ""}, *args
    )
    assert result.exit_code == 2, result.output  # for scan, 1 would mean "matched"
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    assert "run 'hostguard init' first" in result.stderr


@pytest.mark.parametrize("command", [["scan", "IMAGE"], ["hashlist", "list"], ["init"]])
def test_unreachable_postgres_is_one_line_and_exit_2(tmp_path, command):
    image = tmp_path / "sample.png"
    Image.new("RGB", (64, 64), "teal").save(image)
    args = [str(image) if part == "IMAGE" else part for part in command]
    url = f"postgresql+psycopg://postgres:pw-not-shown@127.0.0.1:{_closed_port()}/test"
    result = _fresh_cli(
        {"HOSTGUARD_DATA_DIR": str(tmp_path / "var"), "HOSTGUARD_DATABASE_URL": url}, *args
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("hostguard: cannot reach the database")
    assert "Traceback" not in result.output and "pw-not-shown" not in result.output


def test_a_schema_behind_says_run_init(tmp_path):
    from alembic import command

    from hostguard.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001_core")
    result = _fresh_cli(
        {"HOSTGUARD_DATA_DIR": str(tmp_path / "var"), "HOSTGUARD_DATABASE_URL": url},
        "hashlist",
        "list",
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "schema is behind (0001_core" in result.stderr and "hostguard init" in result.stderr


def test_a_database_error_on_a_newer_schema_says_run_the_newer_release(tmp_path):
    """A table a newer release renamed: not 'run init' (which would refuse), but the release to run."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from hostguard.db import alembic_config

    url = f"sqlite:///{tmp_path / 'new.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE hash_lists RENAME TO hash_lists_v2"))
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'"))
    engine.dispose()
    result = _fresh_cli(
        {"HOSTGUARD_DATA_DIR": str(tmp_path / "var"), "HOSTGUARD_DATABASE_URL": url},
        "hashlist",
        "list",
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert (
        "newer than this hostguard knows" in result.stderr and "hostguard init" not in result.stderr
    )


def test_init_against_a_newer_schema_refuses_in_one_line(cli, runtime):
    from sqlalchemy import text

    from hostguard.db import head_revision

    def stamp(revision: str) -> None:
        with runtime.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})

    stamp("9999_from_a_newer_release")
    try:
        result = cli("init")
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output
        assert (
            "9999_from_a_newer_release" in result.stderr
            and "newer than this release" in result.stderr
        )
        with runtime.engine.connect() as conn:  # left as the newer release migrated it
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == "9999_from_a_newer_release"
            )
    finally:
        stamp(head_revision())  # the PostgreSQL test database outlives this test


def test_database_errors_never_print_statement_parameters_or_detail(cli, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    listed = "ab" * 32

    def clash(**_kwargs):
        raise IntegrityError(
            "INSERT INTO hash_entries (list_id, hash) VALUES (%s, %s)",
            (1, listed),
            Exception(f"duplicate key\nDETAIL: Key (list_id, hash)=(1, {listed}) already exists."),
        )

    monkeypatch.setattr("hostguard.cli.hashing.list_lists", clash)
    result = cli("hashlist", "list")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert (
        listed not in result.output
        and "DETAIL" not in result.output
        and "INSERT" not in result.output
    )
    assert result.stderr.startswith("hostguard: database error")


@pytest.fixture
def served(monkeypatch):
    """The gunicorn configuration `hostguard serve` would run with (the server is not started)."""
    from hostguard.ops import server

    configs = []
    monkeypatch.setattr(server.HostguardServer, "run", lambda self: configs.append(self.cfg))
    return configs


def test_serve_with_a_gunicorn_file_overrides_only_the_options_given(
    cli, served, tmp_path, monkeypatch
):
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(
        'bind = "0.0.0.0:9191"\nworkers = 3\nthreads = 5\ntimeout = 123\ngraceful_timeout = 45\n'
    )
    monkeypatch.setenv("HOSTGUARD_GUNICORN_CONFIG", str(config))
    assert cli("serve").exit_code == 0
    cfg = served.pop()
    assert cfg.address == [("0.0.0.0", 9191)]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.graceful_timeout) == (3, 5, 123, 45)
    result = cli("serve", "--port", "7070", "--threads", "2")
    assert result.exit_code == 0 and "http://127.0.0.1:7070" in result.output
    cfg = served.pop()
    assert cfg.address == [("127.0.0.1", 7070)]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.graceful_timeout) == (3, 2, 123, 45)


def test_serve_without_a_gunicorn_file_uses_its_defaults_and_options(cli, served, monkeypatch):
    monkeypatch.delenv("HOSTGUARD_GUNICORN_CONFIG", raising=False)
    assert cli("serve").exit_code == 0
    cfg = served.pop()
    assert cfg.address == [("127.0.0.1", 8080)]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.graceful_timeout) == (1, 8, 60, 30)
    assert cli("serve", "--host", "0.0.0.0", "--workers", "4").exit_code == 0
    cfg = served.pop()
    assert cfg.address == [("0.0.0.0", 8080)] and (cfg.workers, cfg.threads) == (4, 8)


def test_serve_refuses_a_gunicorn_file_that_does_not_exist(cli, served, tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTGUARD_GUNICORN_CONFIG", str(tmp_path / "missing.conf.py"))
    result = cli("serve")
    assert result.exit_code == 2 and "HOSTGUARD_GUNICORN_CONFIG" in result.stderr
    assert served == []
