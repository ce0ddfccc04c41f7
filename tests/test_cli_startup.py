"""The `hostguard` group loads command modules lazily: what `--help` imports, and the table it lists."""

import importlib
import json
import os
import pkgutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import hostguard
import hostguard.cli
from hostguard.cli import main
from hostguard.cli.base import COMMANDS, HostguardGroup

HEAVY = {
    "numpy",
    "scipy",
    "numba",
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "pydantic_settings",
    "PIL",
    "flask",
}

# Runs the group in a fresh interpreter, then prints which heavy libraries and which hostguard
# command modules it imported.
PROBE = """
import json, sys
from hostguard.cli import main
try:
    main(sys.argv[1:], prog_name="hostguard", standalone_mode=False)
finally:
    loaded = [m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith("hostguard.cli.")]
    print("\\nPROBE " + json.dumps(sorted(loaded)))
"""


def load_every_command_module() -> list[str]:
    names = [f"hostguard.cli.{m.name}" for m in pkgutil.iter_modules(hostguard.cli.__path__)]
    for name in names:
        importlib.import_module(name)
    return names


def probe(*args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What the group printed, and the heavy libraries and command modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {sorted(HEAVY)!r}\n{PROBE}", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    output, loaded = result.stdout.rsplit("\nPROBE ", 1)
    return output, json.loads(loaded)


@pytest.mark.parametrize(
    ("arg", "shown"),
    [("--help", "hashlist"), ("version", f"hostguard {hostguard.__version__}"), ("--version", "0")],
)
def test_help_and_version_import_no_heavy_library_and_no_command_module(arg, shown):
    output, loaded = probe(arg)
    assert loaded == ["hostguard.cli.base"]
    assert shown in output


def test_completing_a_command_name_imports_no_command_module():
    env = {"_HOSTGUARD_COMPLETE": "bash_complete", "COMP_WORDS": "hostguard ha", "COMP_CWORD": "1"}
    output, loaded = probe(env=env)
    assert loaded == ["hostguard.cli.base"]
    assert output.split() == ["plain,hash", "plain,hashlist"]


def test_a_command_s_help_loads_only_its_own_module():
    output, loaded = probe("hashlist", "--help")
    assert "Usage: hostguard hashlist" in output
    assert "hostguard.cli.hashing" in loaded
    assert not {"hostguard.cli.accounts", "hostguard.cli.cases", "hostguard.cli.ops"} & set(loaded)


def test_the_lazy_table_names_every_command_its_module_and_short_help():
    load_every_command_module()
    eager = {"version"}  # defined in base.py itself, which imports nothing heavy
    assert set(main.commands) - eager == set(COMMANDS), (
        "hostguard/cli/base.py COMMANDS must list every top-level command a module defines"
    )
    for name, entry in COMMANDS.items():
        command = main.commands[name]
        assert command.callback.__module__ == entry.module, name
        assert not command.hidden and not command.deprecated, name
        assert command.get_short_help_str(limit=1000) == entry.short_help, name


@pytest.mark.parametrize("width", [80, 60])
def test_help_from_the_table_reads_as_with_every_module_loaded(width):
    load_every_command_module()
    eager = {name: cmd for name, cmd in main.commands.items() if name not in COMMANDS}
    fresh = HostguardGroup("hostguard", commands=eager, lazy_commands=COMMANDS)
    assert set(fresh.commands) == {"version"}  # nothing but the table to list the rest from
    listed, loaded = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    fresh.format_commands(click.Context(fresh), listed)
    click.Group.format_commands(main, click.Context(main), loaded)
    assert listed.getvalue() == loaded.getvalue()
    assert listed.getvalue().count("\n") == len(COMMANDS) + 2  # heading, version, the table


def test_version_prints_the_package_version():
    result = CliRunner().invoke(main, ["version"])
    assert result.exit_code == 0
    assert result.output == f"hostguard {hostguard.__version__}\n"


def test_a_lazily_loaded_command_before_init_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from hostguard.cli import main; main()", "hashlist", "list"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "HOSTGUARD_DATA_DIR": str(tmp_path / "fresh"),
            "HOSTGUARD_DATABASE_URL": "",
            "HOSTGUARD_ENV": "test",
            "HOSTGUARD_LOG_JSON": "false",
        },
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "run 'hostguard init' first" in result.stderr


@pytest.mark.skipif(
    not hasattr(click.exceptions, "NoSuchCommand"), reason="click suggests names from 8.4"
)
def test_a_mistyped_command_is_answered_with_close_names_not_yet_loaded():
    result = subprocess.run(
        [sys.executable, "-c", "from hostguard.cli import main; main()", "hashlst"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'hashlist'" in result.stderr
