"""Commands of hostguard.cases: transparency reports, Transparency Database exports, the case queue."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from hostguard.cli.base import cli_actor, fail, get_runtime, main


def _when(value: str | None, *, default: datetime) -> datetime:
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"'{value}' is not a date (use YYYY-MM-DD or an ISO 8601 date and time)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@main.group()
def report() -> None:
    """Reports computed from the case records."""


@report.command("transparency")
@click.option(
    "--since", help="start of the period (YYYY-MM-DD, inclusive); default: 1 January this year"
)
@click.option("--until", help="end of the period (YYYY-MM-DD, exclusive); default: now")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "eu-template"]),
    default="json",
    show_default=True,
    help="eu-template: the files of the harmonised templates of Implementing Regulation (EU) "
    "2024/2835, written to --out",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="directory for --format eu-template (created if missing; its template files replaced)",
)
@click.option("--service", default="", help="eu-template: the service's name (column Service)")
@click.option("--provider", default="", help="eu-template: the name of the service provider")
def report_transparency(
    since: str | None,
    until: str | None,
    fmt: str,
    out_dir: Path | None,
    service: str,
    provider: str,
) -> None:
    """DSA transparency figures: notices, orders, actions, appeals and suspensions with medians."""
    from hostguard.cases.reports import transparency_from_db
    from hostguard.cases.transparency import report_rows

    now = datetime.now(UTC)
    start = _when(since, default=datetime(now.year, 1, 1, tzinfo=UTC))
    end = _when(until, default=now)
    if end <= start:
        fail("--until must be after --since")
    if fmt == "eu-template":
        if out_dir is None:
            fail("--format eu-template needs --out DIR, the directory to write the files to")
        _write_eu_template(out_dir, start=start, end=end, service=service, provider=provider)
        return
    if out_dir is not None:
        fail("--out is only for --format eu-template; json and csv are printed")
    runtime = get_runtime()
    with runtime.session() as session:
        figures = transparency_from_db(session, since=start, until=end)
    if fmt == "json":
        click.echo(json.dumps(figures, indent=2, sort_keys=False))
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", "value"])
        writer.writerows(report_rows(figures))
        click.echo(out.getvalue(), nl=False)


def _write_eu_template(
    out_dir: Path, *, start: datetime, end: datetime, service: str, provider: str
) -> None:
    from hostguard.cases.eu_template import build_eu_template, eu_template_facts

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".hostguard-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
    runtime = get_runtime()
    with runtime.session() as session:
        facts = eu_template_facts(session, since=start, until=end)
    template = build_eu_template(facts, policy=runtime.policy, service=service, provider=provider)
    files = template.files()
    try:
        for name, text in files.items():
            (out_dir / name).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write to {out_dir}: {exc.strerror or exc}")
    click.echo(f"wrote {len(files)} files to {out_dir}", err=True)


@main.group()
def export() -> None:
    """Exports for regulators and databases."""


@export.command("statements")
@click.option(
    "--format", "fmt", type=click.Choice(["dsa-tdb"]), default="dsa-tdb", show_default=True
)
@click.option("--since", help="only statements created on or after this date (YYYY-MM-DD)")
@click.option(
    "--submit",
    "submit_url",
    metavar="[URL]",
    is_flag=False,
    flag_value="",
    default=None,
    help="submit statements not yet accepted instead of printing them, to this Transparency "
    "Database API base URL (default HOSTGUARD_TDB_URL, e.g. "
    "https://transparency.dsa.ec.europa.eu/api/v1); token from HOSTGUARD_TDB_TOKEN",
)
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 100))
def export_statements(fmt: str, since: str | None, submit_url: str | None, batch_size: int) -> None:
    """One JSON object per line per statement of reasons, valid under the Transparency Database rules.

    With --submit, the statements are sent as the worker sends them (batches of up to 100,
    looked up by puid when an earlier attempt may have stored them), including those that
    failed before; the worker does this on its own when HOSTGUARD_TDB_URL and
    HOSTGUARD_TDB_TOKEN are set.
    """
    from hostguard.cases.statements.export import (
        public_tdb_batch,
        statement_batches,
        submit_statements,
    )

    start = _when(since, default=datetime(2000, 1, 1, tzinfo=UTC)) if since else None
    runtime = get_runtime()
    if submit_url is not None:
        url = (submit_url or runtime.settings.tdb_url or "").rstrip("/")
        if not url:
            fail("give the API base URL (--submit URL) or set HOSTGUARD_TDB_URL")
        with runtime.session() as session:
            result = submit_statements(
                session,
                url=url,
                token=runtime.settings.tdb_token,
                since=start,
                batch_size=batch_size,
                runtime=runtime,
                actor=cli_actor(),
            )
        click.echo(
            f"submitted {result.submitted}, already in the database {result.already_there}, "
            f"failed {result.failed}",
            err=True,
        )
        for line in result.errors[:20]:
            click.echo(f"  {line}", err=True)
        if result.stopped:
            click.echo(
                f"stopped: {result.stopped}; the worker retries the rest, or run this again",
                err=True,
            )
        if result.failed or result.stopped:
            raise SystemExit(1)
        return
    with runtime.session() as session:
        for batch in statement_batches(session, since=start):
            for tdb in public_tdb_batch(session, runtime, batch):
                click.echo(json.dumps(tdb, sort_keys=True, ensure_ascii=False))


@main.group()
def cases() -> None:
    """The case queue."""


@cases.command("list")
@click.option(
    "--status",
    default="open",
    show_default=True,
    help="one status (open, escalated, appealed, decided), active (open, escalated or appealed) or all",
)
@click.option("--overdue", is_flag=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
def cases_list(status: str, overdue: bool, limit: int) -> None:
    """Most urgent cases first."""
    from hostguard.cases.queue import CaseFilter, list_cases
    from hostguard.cases.schemas import case_summary, repos_for

    runtime = get_runtime()
    with runtime.session() as session:
        rows, _ = list_cases(
            session,
            CaseFilter(status=None if status == "all" else status, overdue=overdue),
            limit=limit,
            policy=runtime.policy,
        )
        repos = repos_for(session, rows)
        for case in rows:
            s = case_summary(case, repos.get(case.repo_pk))
            flag = " OVERDUE" if s["overdue"] else ""
            click.echo(
                f"#{s['id']:<6} {s['priority']:>5} {s['status']:<10} {s['category']:<32} {s['repo_id']}{flag}"
            )


@cases.command("reprioritise")
def cases_reprioritise() -> None:
    """Raise the priority of open cases as they age and pass their deadline."""
    from hostguard.cases.queue import reprioritise

    runtime = get_runtime()
    with runtime.session() as session:
        changed = reprioritise(session, policy=runtime.policy)
    click.echo(f"{changed} case(s) re-prioritised")


@cases.command("preserve")
@click.argument("case_id", type=int)
@click.option("--until", required=True, help="the new end of the preservation (YYYY-MM-DD)")
@click.option("--reason", required=True, help="why, e.g. the law-enforcement request")
def cases_preserve(case_id: int, until: str, reason: str) -> None:
    """Extend the preservation of a case's evidence past the year a hotline report started."""
    from hostguard.workflows.evidence import extend_preservation

    runtime = get_runtime()
    with runtime.session() as session:
        case = extend_preservation(
            session=session,
            runtime=runtime,
            actor=cli_actor(),
            case_id=case_id,
            until=_when(until, default=datetime.now(UTC)),
            reason=reason,
        )
        assert case.legal_hold_until is not None  # just extended
        click.echo(f"case {case_id}: evidence preserved until {case.legal_hold_until:%Y-%m-%d}")
