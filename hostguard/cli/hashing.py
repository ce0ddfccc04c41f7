"""Commands of hostguard.hashing: `hash`, `scan` and the `hashlist` group."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hostguard.cli.base import cli_actor, fail, get_runtime, main
from hostguard.hashing import snapshots
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.hasher import hash_paths
from hostguard.hashing.models import ListAction
from hostguard.hashing.service import (
    ImportRefused,
    describe,
    false_positive_counts,
    get_list,
    import_list,
    list_lists,
    release_quarantine,
    remove_list,
    scan_paths,
    suppress,
    unsuppress,
)
from hostguard.hashing.video import format_vpdq


def matching_runtime():
    """The runtime, with this process mapping the host's index snapshots (as the web processes
    and the worker do): a scan maps the lists instead of reading them from the database, and
    an import leaves its list's snapshot written for them."""
    runtime = get_runtime()
    snapshots.configure(snapshots.directory_for(runtime.settings))
    return runtime


def expand(paths: tuple[str, ...]) -> list[str]:
    """Files as given, folders walked recursively (sorted); missing paths are kept to report."""
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file())
        else:
            files.append(str(path))
    return files


def emit(obj: object) -> None:  # a JSON object (a dict or a TypedDict)
    click.echo(json.dumps(obj, separators=(", ", ": ")))


@main.command("hash")
@click.option(
    "--algorithm",
    "-a",
    "algorithms",
    multiple=True,
    type=click.Choice(list(ALGORITHMS)),
    help="Repeat for several (default: pdq).",
)
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.argument("paths", nargs=-1, required=True)
def hash_command(algorithms: tuple[str, ...], workers: int | None, paths: tuple[str, ...]) -> None:
    """Hash images: one JSON object per image and algorithm. Exit 2 if a file could not be read.

    With `--algorithm vpdq`, a video's object holds its vPDQ hash in vPDQ's text format
    (`vpdq`), ready for `hostguard hashlist import NAME FILE --algorithm vpdq`."""
    chosen = algorithms or ("pdq",)
    failed = False
    for result in hash_paths(expand(paths), chosen, variants=False, workers=workers):
        if result.error:
            failed = True
            emit({"path": result.path, "error": result.error})
            continue
        for name in chosen:
            if ALGORITHMS[name].video:  # the whole vPDQ hash, as `hashlist import` reads it
                if result.video is None:
                    failed = True
                    emit({"path": result.path, "error": "not a video or animated GIF"})
                else:
                    emit(
                        {
                            "path": result.path,
                            "algorithm": name,
                            "frames": len(result.video),
                            "vpdq": format_vpdq(result.video),
                        }
                    )
                continue
            computed = result.primary(name)
            # a file read without error has an unmirrored first-frame hash for every algorithm
            assert computed is not None
            line: dict[str, str | int | None] = {
                "path": result.path,
                "algorithm": name,
                "hash": computed.hash,
            }
            if name == "pdq":
                line["quality"] = computed.quality
            emit(line)
    sys.exit(2 if failed else 0)


@main.command("scan")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with every result.")
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.argument("paths", nargs=-1, required=True)
def scan_command(as_json: bool, workers: int | None, paths: tuple[str, ...]) -> None:
    """Match images against every enabled hash list.

    Exit codes as virus scanners use them: 0 nothing matched, 1 something matched,
    2 an error (a file could not be scanned and nothing matched).
    """
    runtime = matching_runtime()
    with runtime.session() as session:
        scans = scan_paths(
            session=session,
            runtime=runtime,
            paths=expand(paths),
            policy=runtime.policy,
            workers=workers,
        )
    if as_json:
        click.echo(json.dumps({"results": [scan.to_json() for scan in scans]}, indent=1))
    else:
        for scan in scans:
            if scan.error:
                click.echo(f"{scan.path}: ERROR {scan.error}")
            for match in scan.matches:
                flat = ", low-quality PDQ hash: review" if match["low_quality"] else ""
                click.echo(
                    f"{scan.path}: MATCH {match['list']} ({match['algorithm']} distance "
                    f"{match['distance']} <= {match['threshold']}, entry {match['entry']}{flat})"
                )
            if not scan.matches and not scan.error:
                note = " (low-quality PDQ hash)" if scan.low_quality else ""
                click.echo(f"{scan.path}: OK{note}")
    if any(scan.matched for scan in scans):
        sys.exit(1)
    sys.exit(2 if any(scan.error for scan in scans) else 0)


@main.group("hashlist")
def hashlist() -> None:
    """Import, list and remove hash lists (their hashes are never printed)."""


@hashlist.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--algorithm",
    "-a",
    type=click.Choice(list(ALGORITHMS)),
    help="Hash algorithm of the list (needed for a new list).",
)
@click.option(
    "--threshold", type=int, default=None, help="Largest matching distance (default per algorithm)."
)
@click.option("--category", default=None, help="Category of the content the list describes.")
@click.option(
    "--action",
    type=click.Choice([a.value for a in ListAction]),
    default=None,
    help="What a match does: block the upload or send it to review.",
)
@click.option("--source", default=None, help="Where the list comes from (free text).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "jsonl", "threatexchange", "ncmec"]),
    default=None,
    help="File format (default: detected).",
)
@click.option(
    "--replace", is_flag=True, help="Make the list equal to the file (removes missing hashes)."
)
@click.option("--strict", is_flag=True, help="Refuse the whole file if any line is invalid.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="With --replace, accept a file with no valid line (empties the list).",
)
def import_command(
    name, file, algorithm, threshold, category, action, source, fmt, replace, strict, allow_empty
) -> None:
    """Import hashes from FILE into list NAME in one transaction; prints a JSON summary."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    runtime = matching_runtime()
    try:
        with runtime.session() as session:
            summary = import_list(
                session=session,
                actor=cli_actor(),
                name=name,
                data=data,
                algorithm=algorithm,
                threshold=threshold,
                category=category,
                action=action,
                source=source,
                replace=replace,
                strict=strict,
                format=fmt,
                allow_empty=allow_empty,
                entry_name=None if file == "-" else Path(file).name,
            )
    except ImportRefused as exc:
        emit(exc.details["summary"])
        fail(exc.message)
    emit(summary)


@hashlist.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Names, algorithm, threshold, action, category, source, entry count, version, last update."""
    runtime = get_runtime()
    with runtime.session() as session:
        rows = list_lists(session=session)
    if as_json:
        click.echo(json.dumps({"lists": rows}, indent=1))
        return
    if not rows:
        click.echo("no hash lists")
        return
    header = (
        "NAME",
        "ALGORITHM",
        "THRESHOLD",
        "ACTION",
        "CATEGORY",
        "ENTRIES",
        "VERSION",
        "UPDATED",
        "SOURCE",
    )
    table = [header] + [
        (
            r["name"],
            r["algorithm"],
            str(r["threshold"]),
            r["action"],
            r["category"],
            str(r["entries"]),
            str(r["version"]),
            r["updated_at"][:19],
            r["source"] or "",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        click.echo(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )


@hashlist.command("show")
@click.argument("name")
@click.option(
    "--false-positives",
    "control",
    is_flag=True,
    help="Add the allow-list size and the suppressed and quarantined entries (by name).",
)
def show_command(name: str, control: bool) -> None:
    """One list's settings and counts as JSON (not its hashes)."""
    runtime = get_runtime()
    with runtime.session() as session:
        shown: dict = dict(describe(get_list(session=session, name=name)))
        if control:
            shown |= false_positive_counts(session=session, name=name)
        emit(shown)


@hashlist.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Delete a list and all its entries."""
    runtime = get_runtime()
    with runtime.session() as session:
        info = remove_list(session=session, actor=cli_actor(), name=name)
    emit({"removed": info["name"], "entries": info["entries"]})


@hashlist.command("suppress")
@click.argument("name")
@click.argument("hash_value", metavar="HASH")
@click.option("--reason", required=True, help="Why the match was wrong (kept in the audit log).")
def suppress_command(name: str, hash_value: str, reason: str) -> None:
    """Allow-list HASH on list NAME: the entries it matches stop acting at once.

    HASH is the entry's hash or the hash of the image it matched wrongly (`hostguard hash`).
    """
    runtime = get_runtime()
    with runtime.session() as session:
        summary = suppress(
            session=session, actor=cli_actor(), name=name, hash=hash_value, reason=reason
        )
    emit(summary)


@hashlist.command("unsuppress")
@click.argument("name")
@click.argument("hash_value", metavar="HASH")
@click.option("--reason", default="", help="Why the hash may act again.")
def unsuppress_command(name: str, hash_value: str, reason: str) -> None:
    """Take HASH off the allow-list of NAME; its entries act again."""
    runtime = get_runtime()
    with runtime.session() as session:
        restored = unsuppress(
            session=session, actor=cli_actor(), name=name, hash=hash_value, reason=reason
        )
    emit({"list": name, "restored": restored})


@hashlist.command("release")
@click.argument("name")
@click.argument("entry")
@click.option("--reason", required=True, help="Why the quarantined entry may act again.")
def release_command(name: str, entry: str, reason: str) -> None:
    """Let the quarantined ENTRY of list NAME (its id as `hashlist show` names it) act again."""
    runtime = get_runtime()
    with runtime.session() as session:
        released = release_quarantine(
            session=session, actor=cli_actor(), name=name, entry=entry, reason=reason
        )
    emit({"list": name, "released": released})
