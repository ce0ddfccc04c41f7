"""The `hostguard` click group and the helpers every command module uses."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from sqlalchemy.exc import DataError

from hostguard.config import ConfigError
from hostguard.errors import HostguardError
from hostguard.runtime import Runtime

CLI_ACTOR = "cli"


class HostguardGroup(click.Group):
    """Turns domain and configuration errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (HostguardError, ConfigError) as exc:
            click.echo(f"hostguard: {getattr(exc, 'message', None) or exc}", err=True)
            sys.exit(2)
        except (OverflowError, DataError):
            click.echo("hostguard: a number given is out of range", err=True)
            sys.exit(2)


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
