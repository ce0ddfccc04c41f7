"""The Hub client wrapper: terminal certification prompts and the pre-upload check before every commit."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hostguard.integrations.hub_client import CheckedHfApi, HostguardClient, UploadRefused
from tests.integrations.fakehub import FakeHub


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub(user="carol")
    fake.url = fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def hostguard_client(live_server, api_headers):
    return HostguardClient(
        live_server.url, api_headers("operator")["Authorization"].split(" ", 1)[1]
    )


def test_upload_runs_the_prompts_then_pushes(hub, hostguard_client):
    answers = iter(["yes", "Carol Example"])
    out = io.StringIO()
    api = CheckedHfApi(
        endpoint=hub.url,
        token="hf_x",
        hostguard=hostguard_client,
        visibility="private",
        ask=lambda prompt: next(answers),
        out=out,
    )
    info = api.upload_file(
        repo_id="carol/tiny",
        path_or_fileobj=b"weights",
        path_in_repo="model.bin",
        commit_message="add",
    )
    assert "carol/tiny" in hub.repos and hub.repos["carol/tiny"].commits
    assert info.oid == hub.repos["carol/tiny"].commits[-1][0]
    assert "Training data" in out.getvalue() and "Certified (receipt" in out.getvalue()
    assert api.last_answer["decision"] == "allow"


def test_upload_is_refused_on_hold_and_nothing_is_pushed(hub, hostguard_client):
    answers = iter(["yes", "c2pa", "yes", "Carol Example"])
    api = CheckedHfApi(
        endpoint=hub.url,
        token="hf_x",
        hostguard=hostguard_client,
        visibility="public",
        ask=lambda prompt: next(answers),
        out=io.StringIO(),
    )
    with pytest.raises(UploadRefused) as refused:
        api.upload_file(
            repo_id="carol/public",
            path_or_fileobj=b"w",
            path_in_repo="model.bin",
            commit_message="add",
        )
    message = str(refused.value)
    assert "hostguard decision: hold" in message and "[kyu_required]" in message
    assert "/portal/kyu?token=" in message
    assert "carol/public" not in hub.repos  # nothing reached the Hub


def test_declining_a_statement_refuses_the_upload(hub, hostguard_client):
    api = CheckedHfApi(
        endpoint=hub.url,
        token="hf_x",
        hostguard=hostguard_client,
        visibility="private",
        ask=lambda prompt: "no",
        out=io.StringIO(),
    )
    with pytest.raises(UploadRefused, match="certification_declined"):
        api.upload_file(
            repo_id="carol/x", path_or_fileobj=b"w", path_in_repo="m.bin", commit_message="m"
        )
    assert "carol/x" not in hub.repos


def test_hostguard_upload_command(hub, live_server, api_headers, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hostguard.integrations.hub_client import main

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    token = tmp_path / "token"
    token.write_text(api_headers("operator")["Authorization"].split(" ", 1)[1])
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights")
    args = [
        "carol/cli",
        str(folder),
        "--visibility",
        "private",
        "--hostguard-url",
        live_server.url,
        "--token-file",
        str(token),
    ]
    result = CliRunner().invoke(main, args, input="yes\nCarol Example\n")
    assert result.exit_code == 0, result.output
    assert "uploaded:" in result.output and hub.repos["carol/cli"].commits
    result = CliRunner().invoke(
        main,
        ["carol/pub", str(folder), "--hostguard-url", live_server.url, "--token-file", str(token)],
        input="yes\nc2pa\nyes\nCarol\n",
    )
    assert result.exit_code == 1, (result.output, hub.requests)
    assert "[kyu_required]" in result.output
    assert "carol/pub" not in hub.repos


def test_a_wrapper_upload_counts_on_the_hub_webhook(hub, hostguard_client, runtime):
    """What the uploader certified at the terminal covers the commit the Hub webhook checks."""
    from sqlmodel import select

    from hostguard.uploads.models import Certification
    from hostguard.workflows.hub import check_hub_revision

    runtime.settings.hf_endpoint = hub.url
    runtime.settings.hf_token = "hf_test_token"
    runtime.settings.actioner = "huggingface"
    answers = iter(["yes", "Carol Example"])
    out = io.StringIO()
    api = CheckedHfApi(
        endpoint=hub.url,
        token="hf_x",
        hostguard=hostguard_client,
        visibility="private",
        ask=lambda prompt: next(answers),
        out=out,
    )
    info = api.upload_file(
        repo_id="carol/hubbed",
        path_or_fileobj=b"weights",
        path_in_repo="model.bin",
        commit_message="add",
    )
    hub.repos["carol/hubbed"].private = True
    assert f"Certified commit {info.oid[:12]}" in out.getvalue()
    with runtime.session() as s:
        result = check_hub_revision(
            session=s, runtime=runtime, repo_id="carol/hubbed", revision=info.oid
        )
        assert result["decision"] == "allow"
        revisions = [
            c.revision for c in s.exec(select(Certification).order_by(Certification.id)).all()
        ]
        assert revisions[0].startswith("content-") and revisions[1] == info.oid
    assert hub.repos["carol/hubbed"].discussions == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hostguard_upload(tmp_path, *args: str) -> subprocess.CompletedProcess:
    token = tmp_path / "token"
    token.write_text("hg_not_used")
    (tmp_path / "model.bin").write_bytes(b"weights")
    command = Path(sys.executable).with_name("hostguard-upload")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HOSTGUARD_"))}
    env["HF_TOKEN"] = "hf_x"
    return subprocess.run(
        [
            str(command),
            "carol/tiny",
            str(tmp_path / "model.bin"),
            "--token-file",
            str(token),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_an_unreachable_hub_is_one_line_and_exit_code_3(tmp_path):
    hub_url = f"http://127.0.0.1:{_closed_port()}"
    result = _hostguard_upload(
        tmp_path,
        "--hub-endpoint",
        hub_url,
        "--hostguard-url",
        f"http://127.0.0.1:{_closed_port()}",
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"the Hub at {hub_url} could not be reached" in lines[0]
    assert "nothing was uploaded" in lines[0]


def test_an_unreachable_hostguard_is_one_line_and_exit_code_2(tmp_path):
    hostguard_url = f"http://127.0.0.1:{_closed_port()}"
    result = _hostguard_upload(
        tmp_path,
        "--uploader-id",
        "carol",
        "--hub-endpoint",
        f"http://127.0.0.1:{_closed_port()}",
        "--hostguard-url",
        hostguard_url,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"hostguard could not be reached at {hostguard_url}" in lines[0]


def test_the_exit_codes_are_in_the_help():
    command = Path(sys.executable).with_name("hostguard-upload")
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "2 hostguard could not be reached" in text and "3 the Hub could not be reached" in text


def test_hostguard_upload_with_an_upload_token_never_holds_an_operator_key(
    hub, live_server, api_headers, tmp_path, monkeypatch
):
    """The platform mints a token for carol and carol/tokened; `hostguard-upload` runs the
    statements and the check with it, and the same token cannot push another repo."""
    import json
    import urllib.request

    from click.testing import CliRunner

    from hostguard.integrations.hub_client import main

    request = urllib.request.Request(
        live_server.url + "/api/v1/upload-tokens",
        data=json.dumps({"uploader_id": "carol", "repo_id": "carol/tokened"}).encode(),
        headers={"Content-Type": "application/json", **api_headers("operator")},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.loads(response.read())["token"]
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    monkeypatch.setenv("HOSTGUARD_UPLOAD_TOKEN", token)
    monkeypatch.delenv("HOSTGUARD_TOKEN_FILE", raising=False)
    (tmp_path / "model.bin").write_bytes(b"weights")
    common = ["--visibility", "private", "--hostguard-url", live_server.url]
    result = CliRunner().invoke(
        main, ["carol/tokened", str(tmp_path / "model.bin"), *common], input="yes\nCarol Example\n"
    )
    assert result.exit_code == 0, result.output
    assert "uploaded:" in result.output and hub.repos["carol/tokened"].commits
    refused = CliRunner().invoke(
        main, ["carol/elsewhere", str(tmp_path / "model.bin"), *common], input="yes\nCarol\n"
    )
    assert refused.exit_code == 2, refused.output
    assert "403" in refused.output and "carol/tokened" in refused.output
    assert "carol/elsewhere" not in hub.repos
