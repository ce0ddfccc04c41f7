"""Commands of hostguard.exchanges: the `exchange` group (add, list, fetch, remove)."""

from __future__ import annotations

import json
import sys

import click

from hostguard.cli.base import cli_actor, get_runtime, main
from hostguard.exchanges.clients import EXCHANGE_TYPES, NCMEC_ENVIRONMENTS
from hostguard.exchanges.service import (
    FetchRunning,
    add_exchange,
    fetch_exchange,
    get_exchange,
    list_exchanges,
    remove_exchange,
)
from hostguard.hashing.algorithms import ALGORITHMS


def emit(obj: object) -> None:
    click.echo(json.dumps(obj, separators=(", ", ": ")))


@main.group("exchange")
def exchange() -> None:
    """Hash exchanges that feed hash lists by themselves.

    Credentials are stored encrypted and never printed.
    """


def _secret(name: str, help: str):
    envvar = "HOSTGUARD_EXCHANGE_" + name.upper().replace("-", "_")
    return click.option(
        f"--{name}", default=None, envvar=envvar, help=f"{help} (or ${envvar}); stored encrypted"
    )


@exchange.command("add")
@click.argument("name")
@click.option("--type", "kind", required=True, type=click.Choice(EXCHANGE_TYPES))
@click.option(
    "--algorithm", "-a", type=click.Choice(list(ALGORITHMS)), default="pdq", show_default=True
)
@click.option("--url", default=None, help="file: the URL of the hash file, read on every fetch.")
@click.option("--base-url", default=None, help="Another API address (a test server, a proxy).")
@click.option(
    "--environment",
    type=click.Choice(list(NCMEC_ENVIRONMENTS)),
    default=None,
    help="ncmec: which hash sharing database (default NGO).",
)
@click.option("--privacy-group", default=None, help="threatexchange: the privacy group's id.")
@_secret("user", "ncmec, tat: user name")
@_secret("password", "ncmec, tat: password")
@_secret("subscription-key", "stopncii: Ocp-Apim-Subscription-Key")
@_secret("fetch-key", "stopncii: function key of FetchHashes")
@_secret("feedback-key", "stopncii: function key of SubmitFeedback (for feedback)")
@_secret("app-token", "threatexchange: the app's access token (APP_ID|SECRET)")
def add_command(name, kind, algorithm, url, base_url, environment, privacy_group, **secrets):
    """Connect exchange NAME; it feeds the hash list NAME (category, action, threshold and
    interval from the policy's hash_lists.exchanges)."""
    runtime = get_runtime()
    settings = {
        "url": url,
        "base_url": base_url,
        "environment": environment,
        "privacy_group": privacy_group,
    }
    with runtime.session() as session:
        info = add_exchange(
            session=session,
            runtime=runtime,
            actor=cli_actor(),
            policy=runtime.policy,
            name=name,
            type=kind,
            algorithm=algorithm,
            settings=settings,
            credentials={k: v for k, v in secrets.items() if v},
        )
    emit(info)


@exchange.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Each exchange's state: last successful fetch, added and removed, lag, errors."""
    runtime = get_runtime()
    with runtime.session() as session:
        rows = list_exchanges(session=session)
    if as_json:
        click.echo(json.dumps({"exchanges": rows}, indent=1))
        return
    if not rows:
        click.echo("no exchanges")
        return
    header = ("NAME", "TYPE", "ENTRIES", "LAST SUCCESS", "ADDED", "REMOVED", "LAG", "ERROR")
    table = [header] + [
        (
            r["name"],
            r["type"],
            str(r["entries"]),
            (r["last_success_at"] or "never")[:19],
            str(r["last_added"]),
            str(r["last_removed"]),
            "—" if r["lag_seconds"] is None else f"{r['lag_seconds']}s",
            f"{r['failures']} failure(s): {r['last_error']}" if r["failures"] else "",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )


# sysexits' EX_TEMPFAIL: another process is fetching the exchange; try again later
EXIT_FETCH_RUNNING = 75


@exchange.command("fetch")
@click.argument("name", required=False)
def fetch_command(name: str | None) -> None:
    """Fetch NAME (or every enabled exchange) now; exit 1 if a fetch failed, 75 if another
    process (the worker, another `exchange fetch`) was fetching it already."""
    runtime = get_runtime()
    with runtime.session() as session:
        if name:
            names = [get_exchange(session=session, name=name).name]
        else:
            names = [r["name"] for r in list_exchanges(session=session) if r["enabled"]]
    failed = busy = False
    for each in names:
        try:
            with runtime.session() as session:
                result = fetch_exchange(
                    session=session,
                    runtime=runtime,
                    name=each,
                    commit=session.commit,
                    actor=cli_actor(),
                )
        except FetchRunning as exc:
            click.echo(f"error: {exc.message}; try again when it is done", err=True)
            busy = True
            continue
        failed = failed or not result["ok"]
        emit(result)
    sys.exit(1 if failed else EXIT_FETCH_RUNNING if busy else 0)


@exchange.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Disconnect exchange NAME and remove the hash list it fed."""
    runtime = get_runtime()
    with runtime.session() as session:
        info = remove_exchange(session=session, actor=cli_actor(), name=name)
    emit({"removed": info["name"], "entries": info["entries"]})
