"""`hostguard init` and `hostguard demo` on a fresh data dir."""

import re

from sqlmodel import select

from hostguard.accounts.models import ApiKey, User


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
    response = client.post("/console/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302
    key = re.search(r"(hg_\w+_\S+)", result.output).group(1)
    assert client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    # running it again keeps one set of accounts, with fresh passwords
    assert cli("demo").exit_code == 0
    with runtime.session() as session:
        assert len(session.exec(select(User)).all()) == 5
        assert len(session.exec(select(ApiKey)).all()) == 1


def test_serve_without_schema_says_run_init(tmp_path):
    from click.testing import CliRunner

    from hostguard.cli import main

    result = CliRunner().invoke(main, ["serve"], env={"HOSTGUARD_DATA_DIR": str(tmp_path / "empty"),
                                                       "HOSTGUARD_DATABASE_URL": ""})
    assert result.exit_code == 2
    assert "hostguard init" in result.stderr
