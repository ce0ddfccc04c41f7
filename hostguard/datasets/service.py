"""Dataset scan records: create, record each finished shard, finish, read.

Functions are keyword-only, take `session` and `actor`, audit every state change and never
commit; the scan job commits after each shard so a killed worker loses at most the shard it
was on (`hostguard.workflows.dataset_scan`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.datasets.models import DatasetScan, DatasetShardResult, ScanStatus
from hostguard.datasets.sources import HUB_PREFIX, parse_hub_spec
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput, NotFound

MAX_SOURCES = 100


def create_scan(*, session: Session, actor: str, sources: list[str]) -> DatasetScan:
    """A queued scan of the sources named (Hub datasets `hf://datasets/OWNER/NAME[@REV]`, or
    paths on the worker's file system)."""
    if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise InvalidInput("name at least one source", code="no_sources")
    if len(sources) > MAX_SOURCES:
        raise InvalidInput(f"name at most {MAX_SOURCES} sources", code="too_many_sources")
    repo_id = revision = None
    hub = [s for s in sources if s.startswith(HUB_PREFIX)]
    for spec in hub:
        try:
            repo_id, revision = parse_hub_spec(spec)
        except Exception as exc:
            raise InvalidInput(str(exc), code="bad_source") from None
    if len(sources) != 1 or not hub:
        repo_id = revision = None
    scan = DatasetScan(
        scan_id=str(uuid.uuid4()),
        sources=list(sources),
        repo_id=repo_id,
        revision=revision,
        created_by=actor,
    )
    session.add(scan)
    session.flush()
    record(
        session,
        actor=actor,
        action="dataset.scan_requested",
        subject=f"dataset_scan:{scan.scan_id}",
        details={"sources": len(sources), "repo": repo_id, "revision": revision},
    )
    return scan


def get_scan(*, session: Session, scan_id: str) -> DatasetScan:
    scan = session.exec(select(DatasetScan).where(DatasetScan.scan_id == scan_id)).first()
    if scan is None:
        raise NotFound(f"no dataset scan {scan_id}")
    return scan


def start_scan(*, session: Session, scan: DatasetScan, shards_total: int, revision: str | None):
    scan.status = ScanStatus.RUNNING
    scan.shards_total = shards_total
    scan.revision = revision or scan.revision
    scan.updated_at = utcnow()
    session.add(scan)
    session.flush()


def shard_results(*, session: Session, scan: DatasetScan) -> dict[str, dict]:
    rows = session.exec(
        select(DatasetShardResult)
        .where(DatasetShardResult.scan_pk == scan.id)
        .order_by(col(DatasetShardResult.id))
    ).all()
    return {row.sha256: row.result for row in rows}


def record_shard(*, session: Session, scan: DatasetScan, sha256: str, result: dict) -> None:
    """Keep one finished shard's result and move the scan's progress on."""
    assert scan.id is not None  # a stored scan
    session.add(
        DatasetShardResult(
            scan_pk=scan.id, sha256=sha256, name=str(result.get("source"))[:500], result=result
        )
    )
    scan.shards_done += 1
    scan.images += int(result.get("images", 0))
    scan.unreadable += len(result.get("unreadable", []))
    scan.matched += len(result.get("matches", []))
    scan.updated_at = utcnow()
    session.add(scan)
    session.flush()


def finish_scan(
    *,
    session: Session,
    actor: str,
    scan: DatasetScan,
    result: dict[str, Any],
    case_id: int | None = None,
) -> None:
    scan.status = ScanStatus.DONE
    scan.result = result
    scan.attestation = result.get("attestation")
    scan.images = int(result["images"])
    scan.unreadable = int(result["unreadable"])
    scan.matched = len(result["matches"])
    scan.case_id = case_id
    scan.finished_at = scan.updated_at = utcnow()
    session.add(scan)
    record(
        session,
        actor=actor,
        action="dataset.scanned",
        subject=f"dataset_scan:{scan.scan_id}",
        details={
            "repo": scan.repo_id,
            "revision": scan.revision,
            "images": scan.images,
            "unreadable": scan.unreadable,
            "matches": scan.matched,
            "case": case_id,
        },
    )
    session.flush()


def fail_scan(*, session: Session, actor: str, scan: DatasetScan, error: str) -> None:
    scan.status = ScanStatus.FAILED
    scan.error = error[:500]
    scan.finished_at = scan.updated_at = utcnow()
    session.add(scan)
    record(
        session,
        actor=actor,
        action="dataset.scan_failed",
        subject=f"dataset_scan:{scan.scan_id}",
        details={"error": scan.error},
    )
    session.flush()


def latest_attestations(*, session: Session, repo_ids: list[str]) -> dict[str, DatasetScan]:
    """The newest finished scan of each Hub dataset repository named (none: not in the map)."""
    if not repo_ids:
        return {}
    rows = session.exec(
        select(DatasetScan)
        .where(col(DatasetScan.repo_id).in_(repo_ids), DatasetScan.status == ScanStatus.DONE)
        .order_by(col(DatasetScan.finished_at).desc())
    ).all()
    newest: dict[str, DatasetScan] = {}
    for row in rows:
        assert row.repo_id is not None  # selected by repo_id
        newest.setdefault(row.repo_id, row)
    return newest


def describe(scan: DatasetScan) -> dict[str, Any]:
    """What the API and the console show: status, progress and, once done, the result."""
    return {
        "id": scan.scan_id,
        "status": scan.status,
        "sources": scan.sources,
        "repo": scan.repo_id,
        "revision": scan.revision,
        "progress": {
            "shards_done": scan.shards_done,
            "shards_total": scan.shards_total,
            "images": scan.images,
        },
        "case_id": scan.case_id,
        "error": scan.error,
        "created_at": scan.created_at.isoformat(),
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        "result": scan.result,
    }


def list_scans(*, session: Session, limit: int = 100) -> list[DatasetScan]:
    """The newest scans first (the console's page)."""
    return list(
        session.exec(select(DatasetScan).order_by(col(DatasetScan.id).desc()).limit(limit)).all()
    )
