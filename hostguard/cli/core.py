"""Commands to set up, seed and serve hostguard."""

from __future__ import annotations

import secrets

import click
from click.core import ParameterSource
from sqlmodel import col, select

from hostguard.cli.base import cli_actor, fail, get_runtime, main
from hostguard.db import current_revision, upgrade
from hostguard.keys import ensure_keys

DEMO_KEY_NAME = "demo platform"
DEMO_USERS = [
    ("admin@demo.hostguard.test", "admin"),
    ("moderator@demo.hostguard.test", "moderator"),
    ("senior@demo.hostguard.test", "senior_moderator"),
    ("legal@demo.hostguard.test", "legal"),
    ("auditor@demo.hostguard.test", "auditor"),
]


@main.command()
def init() -> None:
    """Create or upgrade the schema and create the data dir and keys (safe to run again)."""
    runtime = get_runtime()
    runtime.settings.require_production_secrets()
    created = ensure_keys(runtime.settings)
    before = current_revision(runtime.engine)
    upgrade(runtime.engine)
    after = current_revision(runtime.engine)
    click.echo(f"data dir: {runtime.settings.data_dir}")
    click.echo(f"database: {runtime.engine.url.render_as_string(hide_password=True)}")
    click.echo(
        f"schema: {before or 'empty'} -> {after}"
        if before != after
        else f"schema: up to date ({after})"
    )
    if created:
        click.echo(f"created keys: {', '.join(created)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--threads", default=8, show_default=True, type=int, help="threads per worker")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web console and API with gunicorn.

    With HOSTGUARD_GUNICORN_CONFIG set, that file's bind, workers, threads and timeouts apply
    and only the options given here override them; the defaults shown are used without a file.
    """
    runtime = get_runtime()
    runtime.settings.require_production_secrets()
    if current_revision(runtime.engine) is None:
        fail("the database has no schema yet: run 'hostguard init' first")
    from hostguard.ops.server import build_server

    ctx = click.get_current_context()
    given = {
        name: value
        for name, value in ctx.params.items()
        if ctx.get_parameter_source(name)
        not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    }
    server = build_server(**given)
    click.echo(f"hostguard listening on {', '.join(f'http://{bind}' for bind in server.cfg.bind)}")
    server.run()


@main.command()
@click.option("--serve", "then_serve", is_flag=True, help="start the server afterwards")
@click.option("--port", default=8080, show_default=True, type=int)
def demo(then_serve: bool, port: int) -> None:
    """Seed demo accounts, an operator API key and demo cases; print the credentials."""
    from hostguard.accounts.models import ApiKey, User
    from hostguard.accounts.service import create_api_key, create_user, revoke_api_key, set_password
    from hostguard.workflows.demo import seed_demo

    runtime = get_runtime()
    ensure_keys(runtime.settings)
    upgrade(runtime.engine)
    actor = cli_actor()
    lines = []
    with runtime.session() as session:
        for email, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            user = session.exec(select(User).where(User.email == email)).first()
            if user is None:
                create_user(session=session, email=email, password=password, role=role, actor=actor)
            else:  # a new password each run, so the printed one always works
                set_password(
                    session=session,
                    user=user,
                    password=password,
                    actor=actor,
                    reason="hostguard demo: a new demo password",
                )
            lines.append(f"  {role:<17} {email:<32} {password}")
        # Keys are shown once, so each run issues a new demo key and revokes the earlier ones.
        for old in session.exec(
            select(ApiKey).where(ApiKey.name == DEMO_KEY_NAME, col(ApiKey.revoked_at).is_(None))
        ).all():
            revoke_api_key(session=session, ident=f"id:{old.id}", actor=actor)
        _, key = create_api_key(
            session=session, name=DEMO_KEY_NAME, scopes=["operator"], actor=actor
        )
        lines.append(f"  operator API key (shown once): {key}")
        seed_demo(session, runtime, actor=actor)
    click.echo("Demo accounts (sign in at /console/login):")
    click.echo("\n".join(lines))
    if then_serve:
        ctx = click.get_current_context()
        ctx.invoke(serve, host="127.0.0.1", port=port, workers=1, threads=8)
