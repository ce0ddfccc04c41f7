"""Commands of hostguard.datasets: `dataset scan`."""

from __future__ import annotations

import json
import sys
import time

import click

from hostguard.cli.base import cli_actor, fail, get_runtime, main


@main.group("dataset")
def dataset() -> None:
    """Scan training datasets against every enabled hash list and attest the result."""


class Progress:
    """A progress bar on stderr (images/s, ETA) and the count of shards done."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=None, unit="img", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        self.shards = 0
        self.total_shards = 0
        self.started = time.monotonic()

    def dataset(self, dataset) -> None:
        from hostguard.datasets.sources import count_images

        self.total_shards = len(dataset.shards)
        counts = [count_images(shard) for shard in dataset.shards]
        if all(c is not None for c in counts):
            self.bar.total = sum(c for c in counts if c is not None)
            self.bar.refresh()

    def shard(self, result: dict) -> None:
        self.shards += 1
        self.bar.set_postfix_str(f"shards {self.shards}/{self.total_shards}", refresh=False)
        self.bar.update(result["images"])

    def close(self) -> float:
        self.bar.close()
        return time.monotonic() - self.started


@dataset.command("scan")
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option(
    "--workers", type=int, default=None, help="Local worker processes (default: one per core)."
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A Dask scheduler (tcp://HOST:8786) to run the shards on instead of local processes.",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="Record each finished shard here; run again with it to skip finished shards.",
)
def dataset_scan(
    sources: tuple[str, ...],
    as_json: bool,
    workers: int | None,
    scheduler: str | None,
    checkpoint: str | None,
) -> None:
    """Hash every image of a dataset and match it against every enabled hash list.

    SOURCE: a folder of images, parquet files (an Image column or a binary column),
    WebDataset .tar shards, or a Hub dataset hf://datasets/OWNER/NAME[@REVISION].
    Exit codes as `hostguard scan`: 0 nothing matched, 1 something matched, 2 an error
    (a shard or an image could not be read and nothing matched).
    """
    from hostguard.datasets.sources import SourceError
    from hostguard.hashing.hasher import default_workers
    from hostguard.workflows.dataset_scan import make_engine, scan_sources

    runtime = get_runtime()
    if workers is not None and workers < 1:
        fail("--workers must be at least 1")
    try:
        engine = make_engine(
            workers=workers if workers is not None else default_workers(), scheduler=scheduler
        )
    except OSError as exc:
        fail(f"cannot reach the Dask scheduler {scheduler}: {exc}")
    progress = Progress()
    try:
        summary = scan_sources(
            runtime=runtime,
            sources=list(sources),
            engine=engine,
            checkpoint_path=checkpoint,
            progress=progress.shard,
            on_dataset=progress.dataset,
            actor=cli_actor(),
        )
    except SourceError as exc:
        fail(str(exc))
    finally:
        elapsed = progress.close()
        engine.close()
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        for match in summary["matches"]:
            where = f"row {match['row']}" if match["row"] is not None else ""
            where += f" key {match['key']}" if match["key"] else ""
            click.echo(
                f"{match['source']} {where.strip()}: MATCH {match['list']} "
                f"({match['algorithm']} distance {match['distance']})"
            )
        for item in summary["unreadable_images"]:
            where = f" row {item['row']}" if item["row"] is not None else ""
            where += f" key {item['key']}" if item["key"] else ""
            click.echo(f"{item['source']}{where}: UNREADABLE {item['error']}")
        for item in summary["errors"]:
            click.echo(f"{item['source']}: ERROR {item['error']}")
    rate = summary["images"] / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"{summary['images']} images, {summary['unreadable']} unreadable, "
        f"{len(summary['matches'])} matches, {len(summary['errors'])} shard errors "
        f"in {elapsed:.1f} s ({rate:.0f} images/s)",
        err=as_json,
    )
    if summary["matches"]:
        sys.exit(1)
    sys.exit(2 if summary["unreadable"] or summary["errors"] else 0)
