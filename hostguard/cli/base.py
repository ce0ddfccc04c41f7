"""The `hostguard` click group and the helpers every command module uses.

The group loads its command modules lazily, so `hostguard --help` and `hostguard version`
start without importing numpy, SQLAlchemy or pydantic-settings; keep this module free of
such imports.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, NamedTuple, NoReturn, cast

import click

from hostguard import __version__
from hostguard.errors import HostguardError, safe_error_text

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem
    from sqlalchemy.exc import SQLAlchemyError

    from hostguard.runtime import Runtime

CLI_ACTOR = "cli"


class LazyCommand(NamedTuple):
    """Where a top-level command is defined, and its short help for `hostguard --help`."""

    module: str
    short_help: str


# Every top-level command a command module adds to `main`, with the module that adds it and
# the first sentence of its help. tests/test_cli_startup.py fails when this table and the
# commands the modules define disagree.
COMMANDS: dict[str, LazyCommand] = {
    "apikey": LazyCommand(
        "hostguard.cli.accounts",
        "API keys for platforms, trusted flaggers, authorities and moderator tools.",
    ),
    "audit": LazyCommand("hostguard.cli.audit", "The append-only audit trail."),
    "cases": LazyCommand("hostguard.cli.cases", "The case queue."),
    "certification": LazyCommand("hostguard.cli.uploads", "Certification receipts."),
    "config": LazyCommand("hostguard.cli.ops", "Inspect the configuration."),
    "dataset": LazyCommand(
        "hostguard.cli.datasets",
        "Scan training datasets against every enabled hash list and attest the result.",
    ),
    "demo": LazyCommand(
        "hostguard.cli.core",
        "Seed demo accounts, an operator API key and demo cases; print the credentials.",
    ),
    "export": LazyCommand("hostguard.cli.cases", "Exports for regulators and databases."),
    "hash": LazyCommand(
        "hostguard.cli.hashing", "Hash images: one JSON object per image and algorithm."
    ),
    "flaggers": LazyCommand(
        "hostguard.cli.flaggers",
        "The register of trusted flaggers: add, list, show, suspend, reinstate (DSA Article 22).",
    ),
    "hashlist": LazyCommand(
        "hostguard.cli.hashing",
        "Import, list and remove hash lists (their hashes are never printed).",
    ),
    "health": LazyCommand(
        "hostguard.cli.ops",
        "Exit 0 when the database answers with this release's schema or a newer one "
        "(and the server is ready).",
    ),
    "init": LazyCommand(
        "hostguard.cli.core",
        "Create or upgrade the schema and create the data dir and keys (safe to run again).",
    ),
    "jobs": LazyCommand("hostguard.cli.ops", "The background job queue."),
    "keys": LazyCommand("hostguard.cli.uploads", "Encryption and signing keys."),
    "kyu": LazyCommand(
        "hostguard.cli.uploads", "Know-your-uploader submissions (no personal data is printed)."
    ),
    "policy": LazyCommand("hostguard.cli.uploads", "Upload policies."),
    "report": LazyCommand("hostguard.cli.cases", "Reports computed from the case records."),
    "scan": LazyCommand("hostguard.cli.hashing", "Match images against every enabled hash list."),
    "serve": LazyCommand("hostguard.cli.core", "Serve the web console and API with gunicorn."),
    "user": LazyCommand("hostguard.cli.accounts", "Staff accounts for the console."),
    "exchange": LazyCommand(
        "hostguard.cli.exchanges", "Hash exchanges that feed hash lists by themselves."
    ),
    "webhook": LazyCommand(
        "hostguard.cli.ops",
        "Webhook endpoints that receive signed events (add, list, remove).",
    ),
    "worker": LazyCommand(
        "hostguard.cli.ops",
        "Run background jobs: outbox deliveries, platform actions, re-matching, periodic tasks.",
    ),
}


class HostguardGroup(click.Group):
    """The `hostguard` group: loads command modules lazily and turns errors into one line.

    A command module registers its commands on `main` when it is imported; `lazy_commands`
    says which module defines which command, so only the module of the command being run
    (or whose own `--help` is asked for) is imported, and `hostguard --help` lists every
    command from the table without importing any of them.

    Domain, configuration and database errors become one line on stderr and exit code 2.
    Exit code 2 matters for `scan`, where 1 means "something matched": a database that is
    down or has no schema must never look like a match.
    """

    def __init__(self, *args, lazy_commands: dict[str, LazyCommand] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module = self.lazy_commands[cmd_name].module
            importlib.import_module(module)
            if cmd_name not in self.commands:
                raise RuntimeError(f"{module} does not define the command {cmd_name!r}")
        return self.commands.get(cmd_name)

    def listed_command(self, cmd_name: str) -> click.Command:
        """The command if its module is loaded, else a stand-in carrying its short help."""
        command = self.commands.get(cmd_name)
        if command is None:
            command = click.Command(cmd_name, help=self.lazy_commands[cmd_name].short_help)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [
            (name, command)
            for name in self.list_commands(ctx)
            if not (command := self.listed_command(name)).hidden
        ]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl(
                    [(name, command.get_short_help_str(limit)) for name, command in commands]
                )

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        results = [
            CompletionItem(name, help=command.get_short_help_str())
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not (command := self.listed_command(name)).hidden
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            # click (8.4 and later) suggests close names from the commands already loaded only
            no_such_command = getattr(click.exceptions, "NoSuchCommand", None)
            if no_such_command is None or not isinstance(exc, no_such_command):
                raise
            raise no_such_command(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            line = error_line(ctx, exc)
            if line is None:
                raise
            click.echo(f"hostguard: {line}", err=True)
            sys.exit(2)


def loaded_classes(module: str, *names: str) -> tuple[type, ...]:
    """The named classes of `module` if it is already imported, else none.

    An exception cannot be an instance of a class whose module was never imported, so
    the error path checks for database and configuration errors without importing anything.
    """
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names) if loaded is not None else ()


def error_line(ctx: click.Context, exc: Exception) -> str | None:
    """The one line to print for an error a user can act on, or None to let it propagate."""
    if isinstance(exc, (HostguardError, *loaded_classes("hostguard.config", "ConfigError"))):
        return f"{getattr(exc, 'message', None) or exc}"
    if isinstance(exc, (OverflowError, *loaded_classes("sqlalchemy.exc", "DataError"))):
        return "a number given is out of range"
    if isinstance(exc, loaded_classes("sqlalchemy.exc", "SQLAlchemyError")):
        # loaded_classes returns plain types, which mypy cannot narrow `exc` by
        return database_error_line(ctx, cast("SQLAlchemyError", exc))
    return None


def database_error_line(ctx: click.Context, exc: SQLAlchemyError) -> str:
    """One line about a database error, without its statement, parameters or DETAIL text.

    Those can hold list hashes or personal data, so only the error's class and SQLSTATE
    are shown, with a hint when the schema is missing or behind.
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from hostguard.db import SchemaStatus, current_revision, head_revision, schema_status
    from hostguard.runtime import Runtime

    runtime = ctx.find_root().obj
    where = ""
    if isinstance(runtime, Runtime):
        where = f" ({runtime.engine.url.render_as_string(hide_password=True)})"
        if ctx.invoked_subcommand != "init":
            try:
                revision = current_revision(runtime.engine)
            except SQLAlchemyError:
                return f"cannot reach the database{where}: {safe_error_text(exc)}"
            status = schema_status(revision)
            if status == SchemaStatus.EMPTY:
                return f"the database has no schema yet{where}: run 'hostguard init' first"
            if status == SchemaStatus.BEHIND:
                return (
                    f"the database schema is behind ({revision}, newest {head_revision()}){where}: "
                    "run 'hostguard init' to upgrade it"
                )
            if status == SchemaStatus.NEWER:
                return (
                    f"the database schema ({revision}) is newer than this hostguard knows{where}: "
                    "run the newer release"
                )
    if isinstance(exc, DBAPIError) and exc.statement is None:
        return f"cannot reach the database{where}: {safe_error_text(exc)}"
    return f"{safe_error_text(exc)}{where}"


@click.group(cls=HostguardGroup, lazy_commands=COMMANDS)
@click.version_option(package_name="hostguard")
def main() -> None:
    """hostguard: upload checks, notice-and-action and hash matching for model hosting platforms."""


@main.command()
def version() -> None:
    """Print the version of hostguard."""
    click.echo(f"hostguard {__version__}")


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"hostguard: {message}", err=True)
    sys.exit(code)


def get_runtime() -> Runtime:
    """The Runtime for this command, built once from the environment."""
    from hostguard.runtime import Runtime

    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = Runtime()
        root.call_on_close(root.obj.close)
    return root.obj


def cli_actor() -> str:
    import getpass

    try:
        return f"{CLI_ACTOR}:{getpass.getuser()}"
    except Exception:
        return CLI_ACTOR
