"""Commands of hostguard.ops: the worker, the job queue and the configuration reference."""

from __future__ import annotations

import json

import click

from hostguard.cli.base import cli_actor, fail, get_runtime, main
from hostguard.platform.webhooks import (
    add_endpoint,
    endpoint_counts,
    list_endpoints,
    remove_endpoint,
)


@main.command()
@click.option("--once", is_flag=True, help="run every due job (and due periodic task), then exit")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="worker threads (default HOSTGUARD_WORKER_CONCURRENCY, 2)",
)
def worker(once: bool, concurrency: int | None) -> None:
    """Run background jobs: outbox deliveries, platform actions, re-matching, periodic tasks."""
    from hostguard.db import current_revision
    from hostguard.ops.logging import configure_logging
    from hostguard.ops.worker import Worker, load_handlers

    runtime = get_runtime()
    settings = runtime.settings
    if "worker" not in settings.role_set:
        fail(
            f"HOSTGUARD_ROLES is '{settings.roles}', which has no 'worker' role; "
            "add it or run this process as 'hostguard serve'"
        )
    settings.require_production_secrets()
    configure_logging(settings)
    if current_revision(runtime.engine) is None:
        fail("the database has no schema yet: run 'hostguard init' first")
    load_handlers(settings.worker_imports)
    runner = Worker.from_settings(runtime, concurrency=concurrency)
    if once:
        ran = runner.run_once()
        click.echo(f"ran {ran} job(s)")
        return
    runner.install_signal_handlers()
    click.echo(
        f"hostguard worker {runner.name}: {runner.concurrency} thread(s), "
        f"lease {int(runner.lease.total_seconds())}s",
        err=True,
    )
    runner.run()


@main.group()
def jobs() -> None:
    """The background job queue."""


@jobs.command("list")
@click.option("--status", type=click.Choice(["queued", "running", "done", "dead"]))
@click.option("--kind")
@click.option("--limit", default=50, show_default=True, type=int)
def jobs_list(status: str | None, kind: str | None, limit: int) -> None:
    """Show the newest jobs as JSON lines (payloads are not shown)."""
    from hostguard.jobs.service import list_jobs

    with get_runtime().session() as session:
        for job in list_jobs(session, status=status, kind=kind, limit=limit):
            click.echo(
                json.dumps(
                    {
                        "id": job.id,
                        "kind": job.kind,
                        "status": job.status,
                        "attempts": job.attempts,
                        "max_attempts": job.max_attempts,
                        "run_at": job.run_at.isoformat(),
                        "locked_by": job.locked_by,
                        "last_error": job.last_error,
                    }
                )
            )


@jobs.command("stats")
def jobs_stats() -> None:
    """Count jobs by kind and status, and show how long the oldest due job has waited."""
    from hostguard.jobs.service import counts, oldest_due_age

    with get_runtime().session() as session:
        table = counts(session)
        age = oldest_due_age(session)
    for (kind, status), n in sorted(table.items()):
        click.echo(f"{kind:<40} {status:<8} {n}")
    click.echo(f"oldest due job waiting: {age:.0f}s")


@jobs.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue a dead job again with a fresh set of attempts."""
    from hostguard.jobs.service import retry

    with get_runtime().session() as session:
        job = retry(session, job_id, actor=cli_actor())
        click.echo(f"job {job.id} ({job.kind}) queued again")


@jobs.command("periodic")
def jobs_periodic() -> None:
    """Show the periodic tasks: how often they run and when they last ran."""
    from hostguard.jobs.periodic import PERIODIC, status
    from hostguard.ops.worker import load_handlers

    load_handlers()
    runtime = get_runtime()
    with runtime.session() as session:
        rows = {row.name: row for row in status(session)}
    for name in sorted(set(PERIODIC) | set(rows)):
        row = rows.get(name)
        every = PERIODIC[name].interval(runtime.settings) if name in PERIODIC else None
        last = row.last_run_at.isoformat() if row and row.last_run_at else "never"
        nxt = row.next_run_at.isoformat() if row else "at the next worker poll"
        click.echo(f"{name:<36} every {every or '(not registered)'}  last run {last}  next {nxt}")


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("reference")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
def config_reference(fmt: str) -> None:
    """Print every setting with its environment variable and default."""
    from hostguard.ops.settings_doc import reference_markdown, reference_rows

    if fmt == "json":
        click.echo(json.dumps(reference_rows(), indent=2))
    else:
        click.echo(reference_markdown())


@config.command("check")
def config_check() -> None:
    """Load the configuration as a process would and report what it resolved to (no secrets)."""

    settings = get_runtime().settings
    settings.require_production_secrets()
    click.echo(f"env: {settings.env}")
    click.echo(f"data dir: {settings.data_dir}")
    click.echo(f"database: {get_runtime().engine.url.render_as_string(hide_password=True)}")
    click.echo(f"roles: {', '.join(sorted(settings.role_set))}")
    click.echo(f"base url: {settings.base_url}")


@main.command()
@click.option("--url", help="also ask this server's /readyz (e.g. http://127.0.0.1:8080)")
@click.option("--timeout", default=5.0, show_default=True, type=float)
def health(url: str | None, timeout: float) -> None:
    """Exit 0 when the database answers with this release's schema or a newer one (and the server is ready)."""
    import urllib.error
    import urllib.request

    from sqlalchemy import text

    from hostguard.db import SchemaStatus, current_revision, head_revision, schema_status

    runtime = get_runtime()
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(runtime.engine)
    except Exception as exc:
        fail(f"database unreachable: {exc.__class__.__name__}", code=1)
    status = schema_status(revision)
    if not status.serves:
        fail(
            f"schema is at {revision or 'nothing'}, not {head_revision()}: run 'hostguard init'",
            code=1,
        )
    if url:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/readyz", timeout=timeout) as response:
                if response.status != 200:
                    fail(f"{url} is not ready (HTTP {response.status})", code=1)
        except (urllib.error.URLError, OSError) as exc:
            fail(f"{url} is not ready: {exc}", code=1)
    click.echo(
        "healthy"
        if status is SchemaStatus.CURRENT
        else f"healthy (schema {revision} is from a newer release; upgrade this process)"
    )


@main.group("webhook")
def webhook() -> None:
    """Webhook endpoints that receive signed events (add, list, remove).

    HOSTGUARD_WEBHOOK_URL, when set, receives every event as well; it is not listed here.
    """


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="an event type it receives, e.g. upload.decision or upload.* (repeat; none: every event)",
)
def webhook_add(name: str, url: str, events: tuple[str, ...]) -> None:
    """Add an endpoint and print its signing secret once (stored encrypted)."""
    runtime = get_runtime()
    with runtime.session() as session:
        endpoint, secret = add_endpoint(
            session, runtime=runtime, actor=cli_actor(), name=name, url=url, events=list(events)
        )
        click.echo(
            f"webhook endpoint {endpoint.id} '{endpoint.name}' -> {endpoint.url} "
            f"events={','.join(endpoint.events) or 'all'} (store the secret now; it is not shown "
            "again):",
            err=True,
        )
        click.echo(secret)


@webhook.command("list")
def webhook_list() -> None:
    """List endpoints (never their secrets): id, name, URL, events, pending and failed deliveries."""
    runtime = get_runtime()
    with runtime.session() as session:
        for endpoint in list_endpoints(session):
            counts = endpoint_counts(session, endpoint)
            click.echo(
                f"{endpoint.id}\t{endpoint.name}\t{endpoint.url}\t"
                f"{','.join(endpoint.events) or 'all'}\t"
                f"pending={counts['pending']}\tfailed={counts['failed']}"
            )


@webhook.command("remove")
@click.argument("ident")
def webhook_remove(ident: str) -> None:
    """Remove an endpoint by name or id; its pending deliveries are given up."""
    runtime = get_runtime()
    with runtime.session() as session:
        endpoint = remove_endpoint(session, actor=cli_actor(), ident=ident)
        click.echo(f"removed webhook endpoint {endpoint.id} ({endpoint.url})")
