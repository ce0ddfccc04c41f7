"""Backups: deploy/backup.sh of a populated PostgreSQL database, deploy/restore.sh into an
empty one, and the restored copy passes `hostguard audit verify` and reads its personal data."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from hostguard.config import Settings
from hostguard.runtime import Runtime
from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def source(pg_runtime):
    """The populated installation that is backed up (PostgreSQL: pg_dump is what is tested)."""
    return pg_runtime


@pytest.fixture
def empty_database():
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"hostguard_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def populate(runtime) -> int:
    """Users, an API key, an uploader with an encrypted e-mail, a job: all audited."""
    from hostguard.accounts.service import create_api_key, create_user
    from hostguard.audit.service import record
    from hostguard.jobs.service import enqueue
    from hostguard.platform.service import get_or_create_uploader

    with runtime.session() as s:
        for i, role in enumerate(["admin", "moderator", "legal"]):
            create_user(
                session=s,
                email=f"staff{i}@example.org",
                password=f"pw-{uuid.uuid4()}",
                role=role,
                actor="test",
            )
        create_api_key(session=s, name="platform", scopes=["operator"], actor="test")
        get_or_create_uploader(
            s,
            platform_id="u-42",
            username="uploader42",
            email="uploader42@example.org",
            keys=runtime.keys,
        )
        for n in range(20):
            record(s, actor="system", action="test.event", subject=f"thing:{n}", details={"n": n})
        enqueue(s, "notify.test", {"n": 1})
    from hostguard.audit.service import verify

    with runtime.session() as s:
        result = verify(s)
    assert result.ok
    return result.checked


def script_env(data_dir: Path, url: str, *, pgurl: bool = True) -> dict[str, str]:
    """The scripts' environment; without `pgurl` they derive PGURL from HOSTGUARD_DATABASE_URL,
    as in the container, where the service's environment has only the latter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTGUARD_", "PG"))}
    env.update(
        {
            "HOSTGUARD_DATA_DIR": str(data_dir),
            "HOSTGUARD_DATABASE_URL": url,
            "HOSTGUARD_ENV": "test",
            "HOSTGUARD_LOG_JSON": "false",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
    )
    if pgurl:
        env["PGURL"] = libpq(url)
    return env


def test_backup_restores_into_an_empty_database_and_verifies(source, empty_database, tmp_path):
    from hostguard.platform.models import Uploader

    records = populate(source)
    backup = tmp_path / "backup"
    made = subprocess.run(
        [str(ROOT / "deploy/backup.sh"), str(backup)],
        capture_output=True,
        text=True,
        env=script_env(source.settings.data_dir, source.settings.effective_database_url),
    )
    assert made.returncode == 0, made.stderr
    assert {p.name for p in backup.iterdir()} >= {"hostguard.dump", "keys.tar", "SHA256SUMS"}

    restored_dir = tmp_path / "restored"
    env = script_env(restored_dir, empty_database)
    done = subprocess.run(
        [str(ROOT / "deploy/restore.sh"), str(backup)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"audit trail intact: {records} records" in done.stdout

    # the restored copy works on its own: audit verify through the CLI, personal data readable
    from hostguard.cli import main

    cli_env = {k: v for k, v in env.items() if k.startswith("HOSTGUARD_")}
    result = CliRunner().invoke(main, ["audit", "verify"], env=cli_env)
    assert result.exit_code == 0 and f"{records} records" in result.output
    restored = Runtime(Settings(env="test", data_dir=restored_dir, database_url=empty_database))
    try:
        with restored.session() as s:
            uploader = s.exec(select(Uploader).where(Uploader.platform_id == "u-42")).one()
            assert restored.keys.decrypt_str(uploader.email_enc) == "uploader42@example.org"
    finally:
        restored.close()

    # restoring over existing data is refused
    again = subprocess.run(
        [str(ROOT / "deploy/restore.sh"), str(backup)], capture_output=True, text=True, env=env
    )
    assert again.returncode == 2 and "not empty" in again.stderr


def test_restored_copy_detects_tampering(source, empty_database, tmp_path):
    """Also: without PGURL the scripts use HOSTGUARD_DATABASE_URL (the Compose way)."""
    populate(source)
    backup = tmp_path / "backup"
    made = subprocess.run(
        [str(ROOT / "deploy/backup.sh"), str(backup)],
        capture_output=True,
        text=True,
        env=script_env(
            source.settings.data_dir, source.settings.effective_database_url, pgurl=False
        ),
    )
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [str(ROOT / "deploy/restore.sh"), str(backup)],
        capture_output=True,
        text=True,
        env=script_env(tmp_path / "restored", empty_database, pgurl=False),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    engine = create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_records SET subject = 'thing:forged' WHERE subject = 'thing:7'")
        )
    engine.dispose()
    from hostguard.cli import main

    env = {
        k: v
        for k, v in script_env(tmp_path / "restored", empty_database).items()
        if k.startswith("HOSTGUARD_")
    }
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
