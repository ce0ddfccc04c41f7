"""Commands for the audit trail."""

from __future__ import annotations

import json

import click

from hostguard.audit.service import list_records, verify
from hostguard.cli.base import get_runtime, main


@main.group()
def audit() -> None:
    """The append-only audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 and name the first bad record when it was tampered with."""
    runtime = get_runtime()
    with runtime.session() as session:
        result = verify(session)
    if result.ok:
        click.echo(f"audit trail intact: {result.checked} records")
        return
    click.echo(f"audit trail BROKEN at record seq {result.first_bad_seq} (id {result.first_bad_id}): "
               f"{result.problem}", err=True)
    raise SystemExit(1)


@audit.command("list")
@click.option("--subject")
@click.option("--actor")
@click.option("--limit", default=50, show_default=True, type=int)
def audit_list(subject: str | None, actor: str | None, limit: int) -> None:
    """Show the newest records as JSON lines."""
    runtime = get_runtime()
    with runtime.session() as session:
        for row in list_records(session, subject=subject, actor=actor, limit=limit):
            click.echo(json.dumps({"seq": row.seq, "at": row.at.isoformat(), "actor": row.actor,
                                   "action": row.action, "subject": row.subject,
                                   "reason": row.reason, "request_id": row.request_id}))
