"""deploy/: the image definition, compose file, gunicorn config and operator guide hold together.

No container engine runs here, so this checks what can go wrong without one: the files
parse, what they copy exists, they run as a non-root user with a health check, every
`hostguard` command they (or the operator guide) run exists with the options given, and the
environment each Compose service runs with names only real settings and builds the app
(so a setting that needs a package the image lacks fails here, not at boot).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hostguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "operations.md"  # the operator guide


def run_help(argv: list[str]):
    """`hostguard <argv> --help` through click: fails on an unknown command or option."""
    assert argv and argv[0] == "hostguard", argv
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    return result


def assert_cli_accepts(argv: list[str], where: str) -> None:
    result = run_help(argv)
    assert result.exit_code == 0 and "Usage:" in result.output, (
        f"{where}: `{' '.join(argv)}` is not a valid hostguard command: {result.output}"
    )


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


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for kw, rest in dockerfile_instructions():
        if kw == "FROM":
            out.append([])
        out[-1].append((kw, rest))
    return out


def built_here(dist) -> bool:
    """Whether an installed distribution's wheel was built on this machine from its sdist."""
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return bool(tags) and all(t.rsplit("-", 1)[-1].startswith("linux_") for t in tags)


def dependencies_built_from_source() -> set[str]:
    """hostguard's dependencies (direct and transitive) whose installed wheel was built here
    from a source distribution: their platform tag is a bare `linux_*`, not manylinux/musllinux,
    so the index had no binary wheel and pip needs a compiler to install them."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    seen: set[str] = set()
    built: set[str] = set()
    todo = ["hostguard"]
    while todo:
        name = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        if key != "hostguard" and built_here(dist):
            built.add(key)
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return built


COMPILER = re.compile(r"apt-get install\b.*\b(build-essential|g\+\+)\b")


def test_the_build_stage_has_a_compiler_before_pip_when_a_dependency_has_no_wheel():
    needs_compiler = dependencies_built_from_source()
    build, runtime = stages()[0], stages()[-1]
    runs = [rest for kw, rest in build if kw == "RUN"]
    pip_at = next(i for i, rest in enumerate(runs) if re.search(r"\bpip install\b", rest))
    compiler_at = next((i for i, rest in enumerate(runs) if COMPILER.search(rest)), None)
    if needs_compiler:
        assert compiler_at is not None and compiler_at < pip_at, (
            f"{sorted(needs_compiler)} have no binary wheel: the build stage must install "
            "build-essential (or g++) before `pip install`"
        )
    assert not any(COMPILER.search(rest) for kw, rest in runtime if kw == "RUN"), (
        "the compiler stays in the build stage"
    )


def test_the_wheel_check_sees_a_package_built_here():
    from importlib.metadata import distribution

    # pdqhash (the reference PDQ, which threatexchange needs) has only an sdist, so .venv
    # compiled it; numpy comes as a manylinux wheel
    assert built_here(distribution("pdqhash"))
    assert not built_here(distribution("numpy"))
    assert "pdqhash" in dependencies_built_from_source()  # through threatexchange
    assert "numpy" not in dependencies_built_from_source()


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
        assert any(f"{volume}:" in v for s in services.values() for v in s.get("volumes", [])), (
            volume
        )


def test_compose_references_files_that_exist():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"
        for env_file in (
            service.get("env_file", [])
            if isinstance(service.get("env_file"), list)
            else [service["env_file"]]
            if service.get("env_file")
            else []
        ):
            path = DEPLOY / env_file
            example = path.with_name(path.name + ".example")
            assert path.exists() or example.exists(), (
                f"{name}: env file {env_file} (or its .example)"
            )


def compose_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for name, service in compose()["services"].items():
        for key, value in (
            ("command", service.get("command")),
            ("healthcheck", (service.get("healthcheck") or {}).get("test")),
        ):
            if not value:
                continue
            argv = value[1:] if value[0] in ("CMD", "CMD-SHELL") else value
            argv = shlex.split(argv[0]) if len(argv) == 1 else argv
            if argv[0] == "hostguard":
                commands.append((f"{name}.{key}", argv))
    return commands


def test_every_hostguard_command_in_compose_exists():
    commands = compose_commands()
    assert {where for where, _ in commands} >= {
        "init.command",
        "web.command",
        "worker.command",
        "web.healthcheck",
        "worker.healthcheck",
    }
    for where, argv in commands:
        assert_cli_accepts(argv, f"compose.yaml {where}")


def test_the_checker_rejects_what_does_not_exist():
    assert run_help(["hostguard", "no-such-command"]).exit_code != 0
    assert run_help(["hostguard", "worker", "--no-such-option"]).exit_code != 0


def test_gunicorn_config_loads_with_hostguards_hooks():
    from hostguard.ops import server

    app = server.HostguardServer(
        {"bind": "127.0.0.1:0"}, config_file=str(DEPLOY / "gunicorn.conf.py")
    )
    cfg = app.cfg
    assert cfg.worker_class_str == "gthread"
    assert cfg.accesslog is None, "no access log: it would record client addresses and paths"
    assert cfg.on_starting.__module__ == "hostguard.ops.server"
    assert (
        cfg.child_exit.__name__ == "child_exit"
        and cfg.child_exit.__module__ == "hostguard.ops.server"
    )
    assert cfg.address == [("127.0.0.1", 0)]  # the command line wins over the file


def test_the_gunicorn_files_settings_and_variables_apply_unless_the_command_line_gives_them(
    monkeypatch,
):
    from hostguard.ops import server

    monkeypatch.setenv("HOSTGUARD_BIND", "0.0.0.0:9090")
    monkeypatch.setenv("HOSTGUARD_WEB_WORKERS", "3")
    monkeypatch.setenv("HOSTGUARD_WEB_THREADS", "2")
    config = str(DEPLOY / "gunicorn.conf.py")
    cfg = server.HostguardServer({}, config_file=config).cfg
    assert cfg.address == [("0.0.0.0", 9090)]
    assert (cfg.workers, cfg.threads) == (3, 2)
    file_values = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), config, "exec"), file_values)
    assert (cfg.timeout, cfg.graceful_timeout) == (
        file_values["timeout"],
        file_values["graceful_timeout"],
    )
    assert cfg.max_requests == file_values["max_requests"]
    assert cfg.worker_connections == 2  # a worker accepts no more connections than it has threads
    given = server.command_line_options(workers=6)
    cfg = server.HostguardServer(given, config_file=config).cfg
    assert cfg.workers == 6 and cfg.threads == 2 and cfg.address == [("0.0.0.0", 9090)]
    # more threads on the command line than the file's: as many connections as threads
    cfg = server.HostguardServer(server.command_line_options(threads=5), config_file=config).cfg
    assert (cfg.threads, cfg.worker_connections) == (5, 5)


def test_a_worker_accepts_as_many_connections_as_it_has_threads_unless_the_file_says_otherwise(
    tmp_path,
):
    from hostguard.ops import server

    assert (
        server.HostguardServer(server.command_line_options(threads=3)).cfg.worker_connections == 3
    )
    own = tmp_path / "gunicorn.conf.py"
    own.write_text("threads = 4\nworker_connections = 100\n")
    cfg = server.HostguardServer({}, config_file=str(own)).cfg
    assert (cfg.threads, cfg.worker_connections) == (4, 100)
    own.write_text("threads = 4\n")
    assert server.HostguardServer({}, config_file=str(own)).cfg.worker_connections == 4
    # with keep-alive turned on, idle kept-alive connections need room: gunicorn's own limit
    own.write_text("threads = 4\nkeepalive = 5\n")
    assert server.HostguardServer({}, config_file=str(own)).cfg.worker_connections == 1000


def test_the_image_leaves_bind_workers_and_threads_to_the_gunicorn_file():
    assert image_environment()["HOSTGUARD_GUNICORN_CONFIG"] == "/etc/hostguard/gunicorn.conf.py"
    serve_commands = [exec_form(rest) for kw, rest in dockerfile_instructions() if kw == "CMD"]
    serve_commands += [argv for where, argv in compose_commands() if argv[1:2] == ["serve"]]
    assert len(serve_commands) >= 2
    for argv in serve_commands:
        overrides = {"--host", "--port", "--workers", "--threads"} & set(argv)
        assert not overrides, f"`{' '.join(argv)}` overrides HOSTGUARD_BIND/WEB_WORKERS/WEB_THREADS"


def test_without_a_gunicorn_file_serve_keeps_its_defaults():
    from hostguard.ops import server

    cfg = server.HostguardServer({}).cfg
    assert cfg.address == [("127.0.0.1", 8080)]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.graceful_timeout) == (1, 8, 60, 30)
    assert cfg.worker_class_str == "gthread" and cfg.accesslog is None
    assert cfg.worker_connections == 8


def test_scripts_referenced_by_the_guide_exist_and_are_executable():
    guide = GUIDE.read_text()
    for script in set(re.findall(r"deploy/[\w.-]+\.sh", guide)):
        path = ROOT / script
        assert path.is_file(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


def guide_segments() -> list[list[str]]:
    """The simple commands on the lines of the guide's shell code blocks, `VAR=value` prefixes
    dropped (a `$(...)` ends a command: only what comes before it is checked)."""
    guide = GUIDE.read_text()
    segments = []
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", guide, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            current: list[str] = []
            for token in lexer:
                if token in ("&&", "||", ";", "|", "(", ")"):
                    segments.append(current)
                    current = []
                else:
                    current.append(token)
            segments.append(current)
    out = []
    for tokens in segments:
        while tokens and "=" in tokens[0] and not tokens[0].startswith("-"):
            tokens = tokens[1:]  # VAR=value prefixes
        if tokens:
            out.append(tokens)
    return out


def guide_commands() -> list[list[str]]:
    """`hostguard ...` lines in the guide's shell code blocks."""
    commands = []
    in_containers = [argv for _, argv in guide_container_commands()]
    for tokens in [t for t in guide_segments() if t[:1] != ["docker"]] + in_containers:
        if tokens[:1] == ["hostguard"]:
            commands.append([t for t in tokens if not t.startswith(("<", "$"))])
    return commands


# `docker compose run/exec` options that take a value (the rest are flags).
COMPOSE_VALUE_OPTIONS = {
    "-f",
    "--file",
    "-p",
    "--project-name",
    "-v",
    "--volume",
    "-e",
    "--env",
    "-u",
    "--user",
    "-w",
    "--workdir",
    "--entrypoint",
    "--name",
    "-l",
    "--label",
    "--publish",
    "--index",
    "--env-file",
    "--profile",
    "--project-directory",
}


def guide_container_commands() -> list[tuple[str, list[str]]]:
    """(service, argv) of every `docker compose ... run|exec ... SERVICE argv` in the guide."""
    commands = []
    for tokens in guide_segments():
        if tokens[:2] != ["docker", "compose"]:
            continue
        rest = tokens[2:]
        i = 0
        while i < len(rest) and rest[i] not in ("run", "exec"):
            i += 2 if rest[i] in COMPOSE_VALUE_OPTIONS else 1
        i += 1
        while i < len(rest) and rest[i].startswith("-"):
            i += 2 if rest[i] in COMPOSE_VALUE_OPTIONS else 1
        if i < len(rest) - 1:
            commands.append((rest[i], rest[i + 1 :]))
    return commands


def image_path_dirs() -> list[str]:
    path = image_environment()["PATH"].replace("$PATH", "/usr/local/bin:/usr/bin:/bin")
    return [d.rstrip("/") for d in path.split(":")]


def copied_onto_path(name: str) -> Path | None:
    """The repository file the runtime stage copies to `name` in a directory on the image's PATH."""
    for kw, rest in runtime_stage():
        if kw != "COPY" or "--from=" in rest:
            continue
        *sources, dest = [t for t in shlex.split(rest) if not t.startswith("--")]
        for source in sources:
            target = f"{dest.rstrip('/')}/{Path(source).name}" if dest.endswith("/") else dest
            directory, _, base = target.rpartition("/")
            if base == name and directory in image_path_dirs():
                return ROOT / source
    return None


# Client tools the deploy scripts call, and the Debian package that provides them.
TOOL_PACKAGES = {
    "pg_dump": "postgresql-client",
    "pg_restore": "postgresql-client",
    "psql": "postgresql-client",
    "createdb": "postgresql-client",
}


def runtime_packages() -> set[str]:
    packages = set()
    for kw, rest in runtime_stage():
        if kw == "RUN":
            for install in re.findall(r"apt-get install ([^&;|]*)", rest):
                packages |= {t for t in install.split() if not t.startswith("-")}
    return packages


def test_every_script_the_guide_runs_in_the_image_is_in_it_with_its_tools():
    services = hostguard_services()
    scripts = [
        argv[0]
        for service, argv in guide_container_commands()
        if service in services and argv[0] != "hostguard"
    ]
    assert {"backup.sh", "restore.sh"} <= set(scripts), (
        "the guide shows backup and restore with Compose"
    )
    packages = runtime_packages()
    for script in scripts:
        source = copied_onto_path(script)
        assert source is not None, (
            f"the guide runs {script} in the image, which has no {script} on PATH"
        )
        assert source.is_file() and source.stat().st_mode & 0o111, (
            f"{source} is not an executable file"
        )
        for tool in set(re.findall(r"\b(" + "|".join(TOOL_PACKAGES) + r")\b", source.read_text())):
            wanted = TOOL_PACKAGES[tool]
            assert any(p == wanted or p.startswith(wanted + "-") for p in packages), (
                f"{script} runs {tool}: install {wanted} in the runtime stage"
            )


def test_the_postgresql_client_in_the_image_is_not_older_than_the_server():
    server = re.match(r"postgres:(\d+)", compose()["services"]["db"]["image"]).group(1)
    clients = [p for p in runtime_packages() if p.startswith("postgresql-client")]
    assert clients, "the runtime stage installs the PostgreSQL client"
    for package in clients:
        version = package.removeprefix("postgresql-client").lstrip("-")
        assert version.isdigit() and int(version) >= int(server), (
            f"{package}: pg_dump must be at least the server's version ({server}); pin the version"
        )


def test_the_guide_parser_finds_container_commands():
    commands = guide_container_commands()
    assert ("init", ["hostguard", "keys", "rotate"]) in commands
    assert any(service == "init" and argv[0] == "backup.sh" for service, argv in commands)


def test_every_hostguard_command_in_the_guide_exists():
    commands = guide_commands()
    assert len(commands) >= 10
    for argv in commands:
        assert_cli_accepts(argv, "docs/operations.md")


@pytest.mark.parametrize(
    "row",
    __import__("hostguard.ops.settings_doc", fromlist=["x"]).reference_rows(),
    ids=lambda row: row["env"],
)
def test_every_setting_is_in_the_configuration_reference(row):
    guide = GUIDE.read_text()
    assert f"`{row['env']}`" in guide, (
        f"{row['env']} is missing from docs/operations.md: regenerate the reference with "
        "'hostguard config reference'"
    )
    assert "(undocumented" not in row["description"], (
        f"describe {row['name']} in hostguard/ops/settings_doc.py"
    )


def test_the_guide_names_no_setting_that_does_not_exist():
    from hostguard.ops.settings_doc import reference_rows

    known = {row["env"] for row in reference_rows()}
    guide = GUIDE.read_text()
    named = set(re.findall(r"\bHOSTGUARD_[A-Z_]+\b", guide))
    extra = {
        "HOSTGUARD_CONFIG",
        "HOSTGUARD_BIND",
        "HOSTGUARD_WEB_WORKERS",
        "HOSTGUARD_WEB_THREADS",
        "HOSTGUARD_FORWARDED_ALLOW_IPS",
    }
    assert named - known - extra == set()


# --- the environment each compose service runs with -------------------------------------------


def gunicorn_config_variables() -> set[str]:
    """HOSTGUARD_* variables deploy/gunicorn.conf.py reads itself (not Settings fields)."""
    text = (DEPLOY / "gunicorn.conf.py").read_text()
    return set(re.findall(r"environ\.get\(\s*\"(HOSTGUARD_[A-Z_]+)\"", text))


def setting_variables() -> set[str]:
    from hostguard.config import Settings

    prefix = Settings.model_config["env_prefix"]
    return {prefix + name.upper() for name in Settings.model_fields} | {"HOSTGUARD_CONFIG"}


def runtime_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def image_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for kw, rest in runtime_stage():
        if kw == "ENV":
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(value: object) -> str:
    """Compose's ${VAR}, ${VAR:?message} and ${VAR:-default}, with every variable set to `x`."""
    return re.sub(r"\$\{[^}]*\}", "x", str(value))


def hostguard_services() -> dict[str, dict]:
    return {
        name: s
        for name, s in compose()["services"].items()
        if s.get("image", "").startswith("hostguard") or s.get("build")
    }


def service_environment(service: dict) -> dict[str, str]:
    """What a container of this service sees: the image's ENV, then env_file (its example),
    then `environment`, as Compose layers them."""
    env = image_environment()
    env_files = service.get("env_file") or []
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        path = DEPLOY / env_file
        env.update(read_env_file(path.with_name(path.name + ".example")))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    env.update({key: interpolate(value) for key, value in environment.items()})
    return env


def image_path_in_repo(path: str) -> Path | None:
    """The repository file the runtime image has at `path` (from its COPY lines), if any."""
    for kw, rest in runtime_stage():
        if kw != "COPY" or "--from=" in rest:
            continue
        *sources, dest = shlex.split(rest)
        for source in sources:
            target = dest.rstrip("/") + "/" + Path(source).name if dest.endswith("/") else dest
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return ROOT / source / path[len(target) :].lstrip("/")
    return None


def test_every_hostguard_service_is_checked():
    assert {"init", "web", "worker"} <= set(hostguard_services())


@pytest.mark.parametrize("name", sorted(hostguard_services()))
def test_every_hostguard_variable_of_a_service_is_a_real_setting(name):
    env = service_environment(hostguard_services()[name])
    named = {key for key in env if key.startswith("HOSTGUARD_")}
    unknown = named - setting_variables() - gunicorn_config_variables()
    assert not unknown, f"compose service {name} sets {sorted(unknown)}, which nothing reads"


def build_service(name: str, tmp_path: Path, monkeypatch) -> None:
    """Resolve a service's settings as its container would and build the app from them.

    Only what cannot exist here is replaced: the data dir (a scratch one), the database (SQLite:
    `db` is not running, but the configured URL's driver must import) and image paths (by
    the repository files the Dockerfile copies there, which must exist). Empty secrets in
    the env file's example are filled in, as an operator must.
    """
    from sqlalchemy.engine import make_url

    from hostguard.config import load_settings
    from hostguard.keys import ensure_keys
    from hostguard.runtime import Runtime
    from hostguard.web import create_app

    env = service_environment(hostguard_services()[name])
    for key in [k for k in os.environ if k.startswith("HOSTGUARD_")]:
        monkeypatch.delenv(key)
    url = env.get("HOSTGUARD_DATABASE_URL")
    if url:
        make_url(url).get_dialect().import_dbapi()  # the driver the URL names is installed
    for key, value in env.items():
        if not key.startswith("HOSTGUARD_"):
            continue
        if value.startswith("/") and key != "HOSTGUARD_DATA_DIR":
            local = image_path_in_repo(value)
            assert local is not None and local.exists(), (
                f"{name}: {key}={value} is not in the image"
            )
            value = str(local)
        if value == "" and key.endswith(("_SECRET", "_SECRET_KEY", "_TOKEN")):
            value = "s" * 48
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOSTGUARD_DATA_DIR", str(tmp_path / name))
    monkeypatch.setenv("HOSTGUARD_DATABASE_URL", f"sqlite:///{tmp_path / name / 'hostguard.db'}")
    settings = load_settings()
    settings.require_production_secrets()
    ensure_keys(settings)
    runtime = Runtime(settings)
    try:
        create_app(runtime=runtime)
    finally:
        runtime.close()


@pytest.mark.parametrize("name", sorted(hostguard_services()))
def test_the_settings_of_a_service_build_the_app(name, tmp_path, monkeypatch):
    build_service(name, tmp_path, monkeypatch)


def test_a_rate_limit_store_without_its_client_library_fails_the_check(tmp_path, monkeypatch):
    from limits.errors import ConfigurationError

    assert (
        "redis://"
        in service_environment(hostguard_services()["web"])["HOSTGUARD_RATELIMIT_STORAGE_URI"]
    )
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis were not installed
    with pytest.raises(ConfigurationError, match="redis"):
        build_service("web", tmp_path, monkeypatch)


def guide_section(title: str) -> str:
    guide = GUIDE.read_text()
    return guide.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_guide_says_production_needs_the_metrics_token():
    from hostguard.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="HOSTGUARD_METRICS_TOKEN"):
        load_settings(
            env="production", secret_key="k" * 48, metrics_token=None
        ).require_production_secrets()
    observability = guide_section("Observability")
    assert "open by default" not in observability
    metrics = observability.split("- **Metrics:**", 1)[1].split("\n- ", 1)[0]
    assert (
        "HOSTGUARD_METRICS_TOKEN" in metrics
        and "production" in metrics
        and "refuses to start" in metrics
    )
    example = read_env_file(DEPLOY / "hostguard.env.example")
    assert example.get("HOSTGUARD_ENV") == "production" and "HOSTGUARD_METRICS_TOKEN" in example


def scaled_services() -> set[str]:
    """Services the compose file's comments or the guide scale with `--scale NAME=N`."""
    texts = [(DEPLOY / "compose.yaml").read_text(), GUIDE.read_text()]
    return {name for text in texts for name in re.findall(r"--scale[ =](\w[\w-]*)=\d+", text)}


def fixed_host_ports(service: dict) -> list[str]:
    fixed = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            if port.get("published"):
                fixed.append(str(port["published"]))
            continue
        parts = str(port).split(":")
        if len(parts) >= 2 and parts[-2] and "-" not in parts[-2]:
            fixed.append(str(port))
    return fixed


def test_services_the_docs_scale_publish_no_fixed_host_port():
    services = compose()["services"]
    assert {"web", "worker"} <= scaled_services()
    for name in scaled_services():
        assert name in services, f"the docs scale {name}, which compose.yaml does not define"
        assert not fixed_host_ports(services[name]), (
            f"--scale {name}=N fails: replicas 2.. cannot bind {fixed_host_ports(services[name])}"
        )


def test_the_proxy_reaches_the_web_replicas():
    services = compose()["services"]
    proxy = services["proxy"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in proxy["volumes"]}
    caddyfile = DEPLOY / mounts["/etc/caddy/Caddyfile"]
    upstreams = re.findall(r"dynamic a (\S+) (\d+)", caddyfile.read_text())
    assert upstreams == [("web", "8080")]
    assert "8080" in [str(p) for p in services["web"]["expose"]]
    assert proxy["ports"] == ["127.0.0.1:8080:8080"]  # where the guide tells the TLS proxy to send


def test_bind_mounted_files_exist():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist"


def test_the_guide_states_the_postgresql_connection_budget():
    scaling = guide_section("Scaling out")
    assert "max_connections" in scaling
    assert "5 connections" in scaling and "10 more" in scaling  # SQLAlchemy's QueuePool defaults
    from sqlalchemy.pool import QueuePool

    from hostguard.db import make_engine

    engine = make_engine("postgresql+psycopg://u:p@127.0.0.1:1/x")
    assert isinstance(engine.pool, QueuePool)
    assert (engine.pool.size(), engine.pool._max_overflow) == (5, 10), "update 'Scaling out'"
