"""The client library installed alone: a fresh virtual environment, no server dependencies, its
own tests passing there against a real hostguard (HTTP server and worker) on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hostguard.ops.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
SECRET = "client-tests-webhook-secret"
SERVER_PACKAGES = ("hostguard", "numpy", "numba", "sqlalchemy", "sqlmodel", "flask", "pydantic")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without PYTHONPATH, so nothing of this checkout leaks into the venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def client_venv(tmp_path_factory) -> Path:
    """A fresh venv (no system site packages) with `pip install ./client[test]`, made once."""
    work = tmp_path_factory.mktemp("client-venv")
    venv = work / "venv"
    source = work / "client"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(
        CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*")
    )
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env(), timeout=120
    )
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{source}[test]",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


def test_the_client_installs_without_the_servers_dependencies(client_venv):
    probe = subprocess.run(
        [
            str(client_venv),
            "-c",
            "import importlib.util as u, hostguard_client, hostguard_client.webhooks, "
            "hostguard_client.receipts; "
            f"print([m for m in {SERVER_PACKAGES!r} if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=client_venv.parent,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    verifier = client_venv.parent / "hostguard-verify-receipt"
    assert verifier.exists()  # the third party's command is installed with the package


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_client_tests_pass_in_their_own_venv_against_a_real_hostguard(
    client_venv, live_server, runtime, api_headers, make_user
):
    port = _free_port()
    runtime.settings.webhook_url = f"http://127.0.0.1:{port}/hostguard"
    runtime.settings.webhook_secret = SECRET
    runtime.settings.actioner = "webhook"
    worker = Worker(runtime=runtime, poll_seconds=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    moderator_user, _ = make_user("moderator")
    key = {
        scope: api_headers(scope, user=user)["Authorization"].removeprefix("Bearer ")
        for scope, user in (("operator", None), ("moderator", moderator_user))
    }
    try:
        ran = subprocess.run(
            [
                str(client_venv),
                *("-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=5", "tests"),
            ],
            capture_output=True,
            text=True,
            cwd=CLIENT,
            env=clean_env(
                HOSTGUARD_TEST_URL=live_server.url,
                HOSTGUARD_TEST_OPERATOR_KEY=key["operator"],
                HOSTGUARD_TEST_MODERATOR_KEY=key["moderator"],
                HOSTGUARD_TEST_WEBHOOK_SECRET=SECRET,
                HOSTGUARD_TEST_WEBHOOK_PORT=str(port),
            ),
            timeout=300,
        )
    finally:
        worker.stop()
        thread.join(timeout=30)
    print(ran.stdout[-3000:])  # shown with -s or -rP: the client tests' own summary
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout and "skipped" not in ran.stdout
