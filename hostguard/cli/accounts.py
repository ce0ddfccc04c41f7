"""Commands for staff users and API keys."""

from __future__ import annotations

import sys

import click
from sqlmodel import select

from hostguard.accounts.models import Role, Scope, User
from hostguard.accounts.service import (
    create_api_key,
    create_user,
    list_api_keys,
    revoke_api_key,
    set_teams,
)
from hostguard.cli.base import cli_actor, fail, get_runtime, main


@main.group()
def user() -> None:
    """Staff accounts for the console."""


@user.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff user; the password is prompted for (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime = get_runtime()
    with runtime.session() as session:
        created = create_user(
            session=session, email=email, password=password, role=role, actor=cli_actor()
        )
        click.echo(f"created user {created.id} {created.email} ({created.role})")


@user.command("teams")
@click.argument("email")
@click.option("--team", "teams", multiple=True, help="a team (repeat; none: no team)")
def user_teams(email: str, teams: tuple[str, ...]) -> None:
    """Put a staff user in teams: the policy's queues (moderation.queues) may be worked by teams."""
    runtime = get_runtime()
    with runtime.session() as session:
        found = session.exec(select(User).where(User.email == email)).first()
        if found is None or found.id is None:
            fail(f"no staff user {email}")
        changed = set_teams(session=session, user_id=found.id, teams=list(teams), actor=cli_actor())
        click.echo(f"{changed.email}: teams {', '.join(changed.teams) or 'none'}")


@main.group()
def apikey() -> None:
    """API keys for platforms, trusted flaggers, authorities and moderator tools."""


@apikey.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, type=click.Choice([s.value for s in Scope]))
@click.option("--user", "user_email", help="staff user a moderator-scope key acts for")
@click.option(
    "--flagger",
    help="the trusted flagger (register name or id) the key belongs to; implies the "
    "trusted_flagger scope",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="a key for trying the integration: its upload checks are answered by the sandbox "
    "(documented test uploaders and images), store nothing, open no case, count in no report",
)
def apikey_create(
    name: str,
    scopes: tuple[str, ...],
    user_email: str | None,
    flagger: str | None,
    sandbox: bool,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    wanted = list(scopes) or ([Scope.TRUSTED_FLAGGER.value] if flagger else [])
    if not wanted:
        fail("give --scope (or --flagger for a trusted flagger's key)")
    runtime = get_runtime()
    with runtime.session() as session:
        key, plaintext = create_api_key(
            session=session,
            name=name,
            scopes=wanted,
            user_email=user_email,
            actor=cli_actor(),
            flagger=flagger,
            sandbox=sandbox,
        )
        click.echo(
            f"API key {key.id} '{key.name}' scopes={key.scopes}"
            + (" SANDBOX" if key.sandbox else "")
            + " (store it now; it is not shown again):",
            err=True,
        )
        click.echo(plaintext)


@apikey.command("revoke")
@click.argument("ident")
def apikey_revoke(ident: str) -> None:
    """Revoke a key by prefix (8 hex digits, always a prefix) or id (N or id:N)."""
    runtime = get_runtime()
    with runtime.session() as session:
        key = revoke_api_key(session=session, ident=ident, actor=cli_actor())
        click.echo(f"revoked API key {key.id} '{key.name}'")


@apikey.command("list")
def apikey_list() -> None:
    """List keys (never the keys themselves)."""
    runtime = get_runtime()
    with runtime.session() as session:
        for key in list_api_keys(session=session):
            state = "revoked" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.prefix}\t{key.name}\t{key.scopes}\t{state}")
