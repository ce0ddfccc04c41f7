"""deploy/: the image definition, compose file, gunicorn config and operator guide hold together.

No container engine runs here, so this checks what can go wrong without one: the files
parse, what they copy exists, they run as a non-root user with a health check, and every
`hostguard` command they (or the operator guide) run exists with the options given.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hostguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def run_help(argv: list[str]):
    """`hostguard <argv> --help` through click: fails on an unknown command or option."""
    assert argv and argv[0] == "hostguard", argv
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    return result


def assert_cli_accepts(argv: list[str], where: str) -> None:
    result = run_help(argv)
    assert result.exit_code == 0 and "Usage:" in result.output, (
        f"{where}: `{' '.join(argv)}` is not a valid hostguard command: {result.output}")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def exec_form(value: str) -> list[str]:
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def test_dockerfile_is_multi_stage_non_root_with_health_check():
    instructions = dockerfile_instructions()
    froms = [rest for kw, rest in instructions if kw == "FROM"]
    assert len(froms) >= 2, "the image is built in stages"
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "the runtime stage runs as a non-root user"
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    user_at = max(i for i, (kw, _) in enumerate(instructions) if kw == "USER")
    assert user_at > last_from, "USER is set in the final stage"
    health = [rest for kw, rest in instructions if kw == "HEALTHCHECK"]
    assert health, "the image declares a HEALTHCHECK"
    cmd = health[-1].split("CMD", 1)[1].strip()
    assert_cli_accepts(exec_form(cmd), "Dockerfile HEALTHCHECK")
    for kw, rest in instructions:
        if kw == "CMD":
            assert_cli_accepts(exec_form(rest), "Dockerfile CMD")


def test_dockerfile_copies_files_that_exist():
    for kw, rest in dockerfile_instructions():
        if kw != "COPY" or "--from=" in rest:
            continue
        *sources, _dest = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_has_database_web_and_worker():
    doc = compose()
    services = doc["services"]
    assert {"db", "web", "worker", "init"} <= set(services)
    assert services["db"]["image"].startswith("postgres:")
    assert services["web"]["environment"]["HOSTGUARD_ROLES"] == "api,matcher"
    assert services["worker"]["environment"]["HOSTGUARD_ROLES"] == "worker"
    for name in ("web", "worker"):
        assert "postgresql" in services[name]["environment"]["HOSTGUARD_DATABASE_URL"]
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    for volume in doc.get("volumes", {}):
        assert any(f"{volume}:" in v for s in services.values() for v in s.get("volumes", [])), volume


def test_compose_references_files_that_exist():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
        for env_file in service.get("env_file", []) if isinstance(service.get("env_file"), list) \
                else [service["env_file"]] if service.get("env_file") else []:
            path = DEPLOY / env_file
            example = path.with_name(path.name + ".example")
            assert path.exists() or example.exists(), f"{name}: env file {env_file} (or its .example)"


def compose_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for name, service in compose()["services"].items():
        for key, value in (("command", service.get("command")),
                           ("healthcheck", (service.get("healthcheck") or {}).get("test"))):
            if not value:
                continue
            argv = value[1:] if value[0] in ("CMD", "CMD-SHELL") else value
            argv = shlex.split(argv[0]) if len(argv) == 1 else argv
            if argv[0] == "hostguard":
                commands.append((f"{name}.{key}", argv))
    return commands


def test_every_hostguard_command_in_compose_exists():
    commands = compose_commands()
    assert {where for where, _ in commands} >= {"init.command", "web.command", "worker.command",
                                                "web.healthcheck", "worker.healthcheck"}
    for where, argv in commands:
        assert_cli_accepts(argv, f"compose.yaml {where}")


def test_the_checker_rejects_what_does_not_exist():
    assert run_help(["hostguard", "no-such-command"]).exit_code != 0
    assert run_help(["hostguard", "worker", "--no-such-option"]).exit_code != 0


def test_gunicorn_config_loads_with_hostguards_hooks():
    from hostguard.ops import server

    app = server.HostguardServer({"bind": "127.0.0.1:0"}, config_file=str(DEPLOY / "gunicorn.conf.py"))
    cfg = app.cfg
    assert cfg.worker_class_str == "gthread"
    assert cfg.accesslog is None, "no access log: it would record client addresses and paths"
    assert cfg.on_starting.__module__ == "hostguard.ops.server"
    assert cfg.child_exit.__name__ == "child_exit" and cfg.child_exit.__module__ == "hostguard.ops.server"
    assert cfg.address == [("127.0.0.1", 0)]  # the command line wins over the file


def test_scripts_referenced_by_the_guide_exist_and_are_executable():
    guide = (DEPLOY / "OPERATIONS.md").read_text()
    for script in set(re.findall(r"deploy/[\w.-]+\.sh", guide)):
        path = ROOT / script
        assert path.is_file(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


def guide_commands() -> list[list[str]]:
    """`hostguard ...` lines in the guide's shell code blocks."""
    guide = (DEPLOY / "OPERATIONS.md").read_text()
    commands = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", guide, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            segments, current = [], []
            for token in lexer:
                if token in ("&&", "||", ";", "|", "(", ")"):
                    segments.append(current)
                    current = []
                else:
                    current.append(token)
            segments.append(current)
            for tokens in segments:
                while tokens and "=" in tokens[0] and not tokens[0].startswith("-"):
                    tokens = tokens[1:]  # VAR=value prefixes
                if tokens[:1] == ["docker"] and "hostguard" in tokens:
                    tokens = tokens[tokens.index("hostguard"):]
                if tokens[:1] == ["hostguard"]:
                    commands.append([t for t in tokens if not t.startswith(("<", "$"))])
    return commands


def test_every_hostguard_command_in_the_guide_exists():
    commands = guide_commands()
    assert len(commands) >= 10
    for argv in commands:
        assert_cli_accepts(argv, "OPERATIONS.md")


@pytest.mark.parametrize("row", __import__("hostguard.ops.settings_doc", fromlist=["x"]).reference_rows(),
                         ids=lambda row: row["env"])
def test_every_setting_is_in_the_configuration_reference(row):
    guide = (DEPLOY / "OPERATIONS.md").read_text()
    assert f"`{row['env']}`" in guide, (
        f"{row['env']} is missing from deploy/OPERATIONS.md: regenerate the reference with "
        "'hostguard config reference'")
    assert "(undocumented" not in row["description"], f"describe {row['name']} in hostguard/ops/settings_doc.py"


def test_the_guide_names_no_setting_that_does_not_exist():
    from hostguard.ops.settings_doc import reference_rows

    known = {row["env"] for row in reference_rows()}
    guide = (DEPLOY / "OPERATIONS.md").read_text()
    named = set(re.findall(r"\bHOSTGUARD_[A-Z_]+\b", guide))
    extra = {"HOSTGUARD_CONFIG", "HOSTGUARD_BIND", "HOSTGUARD_WEB_WORKERS", "HOSTGUARD_WEB_THREADS",
             "HOSTGUARD_FORWARDED_ALLOW_IPS"}
    assert named - known - extra == set()
