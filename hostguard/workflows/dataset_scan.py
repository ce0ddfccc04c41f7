"""Dataset scans end to end: hash each shard's images, match them, record, attest, open a case.

Shards are hashed where the engine runs them (this process, a process pool, Dask workers) by
`hash_shard`, which needs no database and no hash list: it streams the shard's images and
hashes each with the hashing domain's `hash_file` (MD5, SHA-256, PDQ in its eight
orientations, trimmed and untrimmed, plus any other algorithm an enabled list uses). The
hashes come back to this process, which matches them with `match_hashes`, the function the
upload check matches sample images with, so every rule of it (low-quality PDQ hashes left
out, a list's threshold, exact digests of images that do not decode) applies to datasets too.
Each shard's result is recorded as soon as it is matched (a checkpoint file or the
database), keyed by the shard's SHA-256, and a restarted scan skips the shards recorded.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard import __version__
from hostguard.audit.service import record
from hostguard.cases.intake import open_case
from hostguard.cases.models import CaseSource
from hostguard.datasets import service as scans
from hostguard.datasets.attestation import shards_digest, sign_attestation
from hostguard.datasets.checkpoint import Checkpoint
from hostguard.datasets.engines import DaskCluster, InProcess, ProcessPool
from hostguard.datasets.models import DatasetScan, ScanStatus
from hostguard.datasets.sources import (
    Dataset,
    Shard,
    SourceError,
    download_hub_shard,
    images,
    open_sources,
    with_digest,
)
from hostguard.db.types import utcnow
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.hasher import FileHashes, hash_file
from hostguard.hashing.imaging import ImageLimits
from hostguard.hashing.index import MatchIndex
from hostguard.hashing.loading import entry_arrays
from hostguard.hashing.models import HashList
from hostguard.hashing.scan_index import BucketedIndex
from hostguard.hashing.service import effective_threshold, index_for, limits_from, match_hashes
from hostguard.jobs.models import Job
from hostguard.jobs.service import LEASE, commit_progress, enqueue, handler, without_transaction
from hostguard.platform.actions import PlatformAction, queue_action
from hostguard.platform.models import RepoStatus
from hostguard.platform.service import get_or_create_repo
from hostguard.policy import Policy
from hostguard.policy.model import MATCH_ACTION_SEVERITY, MatchAction

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

SCAN_JOB = "datasets.scan"
ALWAYS = ("md5", "sha256", "pdq")  # every image gets these, whatever lists are enabled
MATCH_BATCH = 2000  # images matched in one `match_hashes` call
PUBLIC_MATCH_KEYS = ("source", "row", "key", "list", "algorithm", "distance")
# What the strictest match's action does to the dataset repository on the platform: a block
# hides it (publication blocked, as a blocked model is quarantined), a hold gates it until a
# moderator has looked; a match whose action is only `record` opens the case and nothing more.
DATASET_MEASURES = {
    MatchAction.BLOCK: ("quarantine", RepoStatus.QUARANTINED),
    MatchAction.HOLD: ("restrict", RepoStatus.RESTRICTED),
}


@dataclass
class ShardHashes:
    """What a worker hands back for one shard: hashes and counts, never image bytes."""

    index: int
    name: str
    sha256: str | None
    images: int = 0
    unreadable: list[dict] = field(default_factory=list)
    hashed: list[tuple[str, int | None, str | None, FileHashes]] = field(default_factory=list)
    error: str | None = None


def hash_shard(
    item: tuple[int, Shard], algorithms: tuple[str, ...], limits: ImageLimits
) -> ShardHashes:
    """Hash every image of one shard (runs on a worker: no database, no list)."""
    index, shard = item
    out = ShardHashes(index=index, name=shard.name, sha256=shard.sha256)
    directory = None
    try:
        if shard.kind == "hub":
            directory = tempfile.mkdtemp(prefix="hostguard-dataset-")
            shard = download_hub_shard(shard, directory)
            out.sha256 = shard.sha256
        for image in images(shard):
            out.images += 1
            if image.data is None:
                out.unreadable.append(_where(image.source, image.row, image.key, image.error))
                continue
            hashed = hash_file(image.source, image.data, algorithms, limits=limits)
            if hashed.error:  # its exact digests are still matched below
                out.unreadable.append(_where(image.source, image.row, image.key, hashed.error))
            out.hashed.append((image.source, image.row, image.key, hashed))
    except SourceError as exc:
        out.error = str(exc)
    except Exception as exc:  # a download or a reader failing: the shard is reported, not fatal
        out.error = f"{shard.name}: {type(exc).__name__}: {exc}"[:500]
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
    return out


def _where(source: str, row: int | None, key: str | None, error: str | None) -> dict:
    return {"source": source, "row": row, "key": key, "error": error or "unreadable"}


def enabled_lists(*, session: Session) -> list[dict]:
    """The enabled, non-empty lists a scan matches against (what the attestation names)."""
    rows = session.exec(select(HashList).where(HashList.enabled).order_by(col(HashList.name))).all()
    return [
        {
            "name": h.name,
            "algorithm": h.algorithm,
            "version": h.version,
            "threshold": effective_threshold(h),
        }
        for h in rows
        if h.entry_count
    ]


def scan_algorithms(lists: list[dict]) -> tuple[str, ...]:
    wanted = set(ALWAYS) | {entry["algorithm"] for entry in lists}
    return tuple(name for name in ALGORITHMS if name in wanted)


class ScanIndexes:
    """Each list's match index as a scan wants it: for a PDQ list a `BucketedIndex` built from
    the list's arrays once per scan and list version (and let go with the scan), for any other
    list `index_for`'s."""

    def __init__(self) -> None:
        self._made: dict[int | None, tuple[MatchIndex, MatchIndex]] = {}

    def __call__(self, session: Session, hash_list: HashList) -> MatchIndex:
        base = index_for(session, hash_list)
        made = self._made.get(hash_list.id)
        if made is None or made[0] is not base:  # the list changed since: its new index
            scan_index = base
            if hash_list.algorithm == "pdq" and len(base):
                scan_index = BucketedIndex.from_arrays(*entry_arrays(session, hash_list.id, 256))
            made = self._made[hash_list.id] = (base, scan_index)
        return made[1]


def match_shard(
    *, session: Session, hashes: ShardHashes, policy: Policy, index: ScanIndexes | None = None
) -> dict:
    """One shard's result: counts, unreadable images, matches (no bytes, no list entry)."""
    matches: list[dict] = []
    for start in range(0, len(hashes.hashed), MATCH_BATCH):
        batch = hashes.hashed[start : start + MATCH_BATCH]
        found = match_hashes(
            session=session, hashed=[item[3] for item in batch], policy=policy, index=index
        )
        for (source, row, key, _hashed), scan in zip(batch, found, strict=True):
            for match in scan.matches:
                matches.append(
                    {
                        "source": source,
                        "row": row,
                        "key": key,
                        "list": match["list"],
                        "algorithm": match["algorithm"],
                        "distance": match["distance"],
                        "threshold": match["threshold"],
                        "category": match["category"],
                        "list_action": match["action"],
                    }
                )
    return {
        "source": hashes.name,
        "sha256": hashes.sha256,
        "images": hashes.images,
        "unreadable": hashes.unreadable,
        "matches": matches,
        "error": hashes.error,
    }


def make_engine(*, workers: int | None, scheduler: Any = None):
    """The engine `--workers`/`--scheduler` ask for: Dask, a process pool, or this process."""
    if scheduler is not None:
        return DaskCluster(scheduler)
    if workers is not None and workers > 1:
        return ProcessPool(workers)
    return InProcess()


def run_shards(
    *,
    runtime: Runtime,
    dataset: Dataset,
    engine,
    lists: list[dict],
    done: dict[str, dict],
    keep: Callable[[str, dict], None],
    matching_session: Callable[[], contextlib.AbstractContextManager[Session]],
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Every shard's result in the dataset's order; shards in `done` (by SHA-256) are not run.

    `keep(sha256, result)` records each shard's result as it completes, before the next one
    is matched; `progress(result)` is told of every shard, recorded earlier or now.
    """
    shards = [with_digest(shard) for shard in dataset.shards]
    results: dict[int, dict] = {}
    pending: list[tuple[int, Shard]] = []
    for index, shard in enumerate(shards):
        if shard.sha256 is not None and shard.sha256 in done:
            results[index] = done[shard.sha256]
            if progress:
                progress(done[shard.sha256])
        else:
            pending.append((index, shard))
    algorithms = scan_algorithms(lists)
    limits = limits_from(runtime)
    indexes = ScanIndexes()
    for hashes in engine.run(hash_shard, pending, algorithms, limits):
        if hashes.sha256 is not None and hashes.sha256 in done:
            result = done[hashes.sha256]  # a Hub shard whose digest was known only once read
        else:
            with matching_session() as session:
                result = match_shard(
                    session=session, hashes=hashes, policy=runtime.policy, index=indexes
                )
            if hashes.sha256 is not None and hashes.error is None:
                keep(hashes.sha256, result)
        results[hashes.index] = result
        if progress:
            progress(result)
    return [results[index] for index in range(len(shards))]


def summarise(
    *,
    runtime: Runtime,
    dataset: Dataset,
    results: list[dict],
    lists: list[dict],
    started_at: datetime,
) -> dict:
    """The scan's result (the `--json` shape) with its signed attestation."""
    matches = [m for r in results for m in r["matches"]]
    unreadable = [u for r in results for u in r["unreadable"]]
    errors = [{"source": r["source"], "error": r["error"]} for r in results if r.get("error")]
    matched_images = {(m["source"], m["row"], m["key"]) for m in matches}
    identity: dict[str, Any] = {"shards": len(results)}
    if all(r.get("sha256") for r in results):
        identity["shards_sha256"] = shards_digest([r["sha256"] for r in results])
    if dataset.repo:
        identity["repo"], identity["revision"] = dataset.repo, dataset.revision
    counts = {
        "images": sum(r["images"] for r in results),
        "unreadable": len(unreadable),
        "matched": len(matched_images),
        "errors": len(errors),
    }
    claims = {
        "attestation_id": str(uuid.uuid4()),
        "dataset": identity,
        "lists": lists,
        "algorithms": list(scan_algorithms(lists)),
        "counts": counts,
        "clean": not matches and not errors,
        "started_at": started_at.isoformat(),
        "scanned_at": utcnow().isoformat(),
        "scanner": f"hostguard {__version__}",
    }
    return {
        "images": counts["images"],
        "unreadable": counts["unreadable"],
        "matches": [{k: m[k] for k in PUBLIC_MATCH_KEYS} for m in matches],
        "unreadable_images": unreadable,
        "errors": errors,
        "attestation": sign_attestation(claims, runtime.keys.signing_key),
    }


def open_dataset_case(
    *,
    session: Session,
    repo_id: str,
    revision: str | None,
    results: list[dict],
    scan_ref: str,
    actor: str,
    policy: Policy,
) -> int | None:
    """A case for the dataset repository when anything matched (evidence: shard, row or key,
    list, distance; never image bytes, never a thumbnail), with the strictest list action."""
    matches = [m for r in results for m in r["matches"]]
    if not matches:
        return None
    actions = [
        policy.match_action(category=m["category"], list_action=m["list_action"]) for m in matches
    ]
    worst = max(range(len(matches)), key=lambda i: MATCH_ACTION_SEVERITY[actions[i]])
    repo = get_or_create_repo(session, repo_id=repo_id, repo_type="dataset")
    case = open_case(
        session=session,
        repo=repo,
        source=CaseSource.HASH_MATCH,
        category=policy.case_category(matches[worst]["category"] or "default"),
        actor=actor,
        kind="dataset_match",
        ref=scan_ref,
        details={
            "revision": revision,
            "matches": [
                {k: m[k] for k in (*PUBLIC_MATCH_KEYS, "threshold", "category")}
                for m in matches[:1000]
            ],
            "match_count": len(matches),
            "action": str(actions[worst]),
            "policy": policy.ref,
        },
        automated=True,
        summary=f"Dataset {repo_id}@{(revision or '')[:12]}: {len(matches)} images match "
        f"hash lists ({matches[worst]['category']})",
        policy=policy,
    )
    measure = DATASET_MEASURES.get(actions[worst])
    if measure is not None:
        kind, status = measure
        repo.status = status
        queue_action(
            session,
            PlatformAction(
                kind=kind,
                repo_id=repo_id,
                repo_type="dataset",
                case_id=case.id,
                message=f"A scan of this dataset at revision {(revision or '')[:12]} found "
                f"{len(matches)} images matching hash lists of illegal content; the dataset is "
                f"{'hidden' if kind == 'quarantine' else 'held back'} until a moderator has "
                "reviewed it.",
                extra={"revision": revision, "scan": scan_ref, "action": str(actions[worst])},
            ),
            dedupe_key=f"{scan_ref}:{kind}",
        )
        record(
            session,
            actor=actor,
            action=f"dataset.{kind}",
            subject=f"repo:{repo_id}",
            details={"revision": revision, "case": case.id, "scan": scan_ref},
        )
    return case.id


class _OutsideTransaction:
    """Shards hashed one after the other in the job's process, with no transaction open
    while a shard is hashed (on SQLite the job would otherwise hold the one write lock)."""

    def __init__(self, session: Session):
        self.session = session

    def run(self, function: Callable, items, *args):
        for item in items:
            with without_transaction(self.session):
                hashed = function(item, *args)
            yield hashed

    def close(self) -> None:
        pass


def scan_record_job(
    *,
    session: Session,
    runtime: Runtime,
    scan: DatasetScan,
    actor: str,
    job_id: int | None = None,
) -> None:
    """Run a stored scan to its end, committing each shard's result as it completes (and
    renewing the job's lease, so a long scan is not taken over while its worker lives)."""
    started = utcnow()
    dataset = open_sources(list(scan.sources), hub_endpoint=runtime.settings.hf_endpoint or None)
    lists = enabled_lists(session=session)
    scans.start_scan(
        session=session, scan=scan, shards_total=len(dataset.shards), revision=dataset.revision
    )
    commit_progress(session)
    done = scans.shard_results(session=session, scan=scan)

    def keep(sha256: str, result: dict) -> None:
        scans.record_shard(session=session, scan=scan, sha256=sha256, result=result)
        job = session.get(Job, job_id) if job_id is not None else None
        if job is not None and job.locked_until is not None:
            job.locked_until = utcnow() + LEASE
        commit_progress(session)

    results = run_shards(
        runtime=runtime,
        dataset=dataset,
        engine=_OutsideTransaction(session),
        lists=lists,
        done=done,
        keep=keep,
        matching_session=lambda: contextlib.nullcontext(session),
    )
    summary = summarise(
        runtime=runtime, dataset=dataset, results=results, lists=lists, started_at=started
    )
    case_id = None
    if dataset.repo:
        case_id = open_dataset_case(
            session=session,
            repo_id=dataset.repo,
            revision=dataset.revision,
            results=results,
            scan_ref=f"dataset_scan:{scan.scan_id}",
            actor=actor,
            policy=runtime.policy,
        )
    scans.finish_scan(session=session, actor=actor, scan=scan, result=summary, case_id=case_id)


def request_scan(*, session: Session, actor: str, sources: list[str]) -> DatasetScan:
    """Store a scan and queue it for the worker (`POST /api/v1/datasets/scans`)."""
    scan = scans.create_scan(session=session, actor=actor, sources=sources)
    enqueue(session, SCAN_JOB, {"scan_id": scan.scan_id}, dedupe_key=f"{SCAN_JOB}:{scan.scan_id}")
    return scan


def scan_sources(
    *,
    runtime: Runtime,
    sources: list[str],
    engine,
    checkpoint_path: str | None = None,
    progress: Callable[[dict], None] | None = None,
    on_dataset: Callable[[Dataset], None] | None = None,
    actor: str = "cli",
) -> dict:
    """The command line's scan: a checkpoint file instead of the database for shard results.

    A Hub dataset's matches open a case for its repository, as an API scan's do.
    """
    started = utcnow()
    dataset = open_sources(sources, hub_endpoint=runtime.settings.hf_endpoint or None)
    if on_dataset:
        on_dataset(dataset)
    with runtime.session() as session:
        lists = enabled_lists(session=session)
    checkpoint = Checkpoint(checkpoint_path, lists) if checkpoint_path else None
    results = run_shards(
        runtime=runtime,
        dataset=dataset,
        engine=engine,
        lists=lists,
        done=checkpoint.done if checkpoint else {},
        keep=checkpoint.record if checkpoint else (lambda _sha, _result: None),
        matching_session=runtime.session,
        progress=progress,
    )
    summary = summarise(
        runtime=runtime, dataset=dataset, results=results, lists=lists, started_at=started
    )
    if dataset.repo and summary["matches"]:
        with runtime.session() as session:
            open_dataset_case(
                session=session,
                repo_id=dataset.repo,
                revision=dataset.revision,
                results=results,
                scan_ref=f"dataset_attestation:{summary['attestation']['attestation']['attestation_id']}",
                actor=actor,
                policy=runtime.policy,
            )
    return summary


@handler(SCAN_JOB)
def run_scan_job(*, session: Session, payload: dict, job, runtime: Runtime) -> None:
    """The worker's side of `POST /api/v1/datasets/scans`; a retry resumes from the shards kept."""
    scan = scans.get_scan(session=session, scan_id=payload["scan_id"])
    if scan.status in (ScanStatus.DONE, ScanStatus.FAILED):
        return
    try:
        scan_record_job(session=session, runtime=runtime, scan=scan, actor="system", job_id=job.id)
    except SourceError as exc:
        scans.fail_scan(session=session, actor="system", scan=scan, error=str(exc))
