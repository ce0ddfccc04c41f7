"""Commands for the audit trail."""

from __future__ import annotations

import json

import click
from sqlmodel import select

from hostguard.audit.models import AuditHead, AuditRecord
from hostguard.audit.service import list_records, verify
from hostguard.cli.base import get_runtime, main


@main.group()
def audit() -> None:
    """The append-only audit trail."""


@audit.command("verify")
@click.option(
    "--anchor",
    metavar="HASH",
    help="a head hash printed by an earlier verify and kept outside the database; "
    "fails if that record is no longer in the chain (detects wholesale rewrites)",
)
def audit_verify(anchor: str | None) -> None:
    """Check the hash chain; exit 1 and name the first bad record when it was tampered with.

    Prints the head hash: keep it somewhere the database's administrators cannot edit (a
    ticket, a write-once store) and pass it back with --anchor later.
    """
    runtime = get_runtime()
    with runtime.session() as session:
        result = verify(session)
        head = session.get(AuditHead, 1)
        anchored = (
            anchor is None
            or session.exec(
                select(AuditRecord.seq).where(AuditRecord.hash == anchor.strip().lower())
            ).first()
        )
    if result.ok and anchor is not None and not anchored:
        click.echo(
            f"audit trail BROKEN: the anchored record {anchor[:16]}... is no longer in the "
            "chain (records were rewritten or deleted wholesale)",
            err=True,
        )
        raise SystemExit(1)
    if result.ok:
        click.echo(
            f"audit trail intact: {result.checked} records; head {head.hash if head else 'none'}"
        )
        return
    click.echo(
        f"audit trail BROKEN at record seq {result.first_bad_seq} (id {result.first_bad_id}): "
        f"{result.problem}",
        err=True,
    )
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
            click.echo(
                json.dumps(
                    {
                        "seq": row.seq,
                        "at": row.at.isoformat(),
                        "actor": row.actor,
                        "action": row.action,
                        "subject": row.subject,
                        "reason": row.reason,
                        "request_id": row.request_id,
                    }
                )
            )
