"""Commands for the trusted-flagger register (Art. 22 DSA)."""

from __future__ import annotations

import json

import click

from hostguard.cli.base import cli_actor, get_runtime, main


@main.group()
def flaggers() -> None:
    """The register of trusted flaggers: add, list, show, suspend, reinstate (DSA Article 22)."""


@flaggers.command("add")
@click.argument("name")
@click.option("--coordinator", required=True, help="the Digital Services Coordinator")
@click.option("--member-state", required=True, help="its EU member state (two letters)")
@click.option("--area", "areas", required=True, multiple=True, help="a policy category (repeat)")
@click.option("--designated-on", required=True, help="designation date (YYYY-MM-DD)")
@click.option("--reference", required=True, help="the coordinator's designation reference")
def flaggers_add(
    name: str,
    coordinator: str,
    member_state: str,
    areas: tuple[str, ...],
    designated_on: str,
    reference: str,
) -> None:
    """Enter a designated trusted flagger in the register."""
    from hostguard.accounts.flaggers import add_flagger

    runtime = get_runtime()
    with runtime.session() as session:
        flagger = add_flagger(
            session=session,
            actor=cli_actor(),
            policy=runtime.policy,
            name=name,
            coordinator=coordinator,
            member_state=member_state,
            areas=areas,
            designated_on=designated_on,
            designation_reference=reference,
        )
        click.echo(
            f"trusted flagger {flagger.id} '{flagger.name}' added ({', '.join(flagger.areas)})"
        )


@flaggers.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON document with the figures")
def flaggers_list(as_json: bool) -> None:
    """List the register with each flagger's notices, share upheld and median time to decision."""
    from hostguard.accounts.flaggers import flagger_json, list_flaggers
    from hostguard.cases.flaggers import flagger_figures

    runtime = get_runtime()
    with runtime.session() as session:
        figures = {f["flagger_id"]: f for f in flagger_figures(session)}
        entries = list_flaggers(session)
        if as_json:
            click.echo(
                json.dumps(
                    [flagger_json(f) | {"figures": figures.get(f.id or 0)} for f in entries],
                    indent=2,
                )
            )
            return
        for f in entries:
            n = figures.get(f.id or 0)
            upheld = f"{n['share_upheld']:.0%}" if n and n["share_upheld"] is not None else "-"
            click.echo(
                f"{f.id}\t{f.name}\t{f.member_state}\t{f.status}\t{','.join(f.areas)}\t"
                f"notices={n['notices'] if n else 0}\tupheld={upheld}\t"
                f"median_h={n['median_hours_to_decision'] if n else '-'}"
            )


@flaggers.command("show")
@click.argument("ident")
def flaggers_show(ident: str) -> None:
    """One register entry (by id or name) as JSON, with its keys and figures."""
    from hostguard.accounts.flaggers import flagger_json, flagger_keys, get_flagger
    from hostguard.cases.flaggers import flagger_figures

    runtime = get_runtime()
    with runtime.session() as session:
        flagger = get_flagger(session, ident)
        figures = next((f for f in flagger_figures(session) if f["flagger_id"] == flagger.id), None)
        click.echo(
            json.dumps(
                flagger_json(flagger, keys=flagger_keys(session, flagger)) | {"figures": figures},
                indent=2,
            )
        )


@flaggers.command("suspend")
@click.argument("ident")
@click.option("--reason", required=True, help="e.g. the coordinator's request and its reference")
def flaggers_suspend(ident: str, reason: str) -> None:
    """Suspend at the coordinator's request (Art. 22(6)); its notices become ordinary notices."""
    from hostguard.accounts.flaggers import suspend_flagger

    runtime = get_runtime()
    with runtime.session() as session:
        flagger = suspend_flagger(session=session, actor=cli_actor(), ident=ident, reason=reason)
        click.echo(f"trusted flagger {flagger.id} '{flagger.name}' suspended")


@flaggers.command("reinstate")
@click.argument("ident")
@click.option("--reason", required=True, help="why the suspension ends")
def flaggers_reinstate(ident: str, reason: str) -> None:
    """End a suspension: its notices are prioritised in its areas again."""
    from hostguard.accounts.flaggers import reinstate_flagger

    runtime = get_runtime()
    with runtime.session() as session:
        flagger = reinstate_flagger(session=session, actor=cli_actor(), ident=ident, reason=reason)
        click.echo(f"trusted flagger {flagger.id} '{flagger.name}' reinstated")
