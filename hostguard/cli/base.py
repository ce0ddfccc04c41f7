"""The `hostguard` click group and the helpers every command module uses."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError

from hostguard.config import ConfigError
from hostguard.errors import HostguardError, safe_error_text
from hostguard.runtime import Runtime

CLI_ACTOR = "cli"


class HostguardGroup(click.Group):
    """Turns domain, configuration and database errors into one line on stderr and exit code 2.

    Exit code 2 matters for `scan`, where 1 means "something matched": a database that is
    down or has no schema must never look like a match.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (HostguardError, ConfigError) as exc:
            click.echo(f"hostguard: {getattr(exc, 'message', None) or exc}", err=True)
            sys.exit(2)
        except (OverflowError, DataError):
            click.echo("hostguard: a number given is out of range", err=True)
            sys.exit(2)
        except SQLAlchemyError as exc:
            click.echo(f"hostguard: {database_error_line(ctx, exc)}", err=True)
            sys.exit(2)


def database_error_line(ctx: click.Context, exc: SQLAlchemyError) -> str:
    """One line about a database error, without its statement, parameters or DETAIL text.

    Those can hold list hashes or personal data, so only the error's class and SQLSTATE
    are shown, with a hint when the schema is missing or behind.
    """
    from hostguard.db import SchemaStatus, current_revision, head_revision, schema_status

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


@click.group(cls=HostguardGroup)
@click.version_option(package_name="hostguard")
def main() -> None:
    """hostguard: upload checks, notice-and-action and hash matching for model hosting platforms."""


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"hostguard: {message}", err=True)
    sys.exit(code)


def get_runtime() -> Runtime:
    """The Runtime for this command, built once from the environment."""
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
