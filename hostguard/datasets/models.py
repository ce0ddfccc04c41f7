"""Tables of hostguard.datasets: dataset scans and the result of each finished shard.

A shard's result is stored as soon as it is matched, keyed by the shard's SHA-256, so a scan
whose worker died is resumed by the next worker from the shards not yet stored. No image
bytes and no hash-list contents are stored: a shard's result names rows, keys, lists and
distances only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DatasetScan(SQLModel, table=True):
    __tablename__ = "dataset_scans"

    id: int | None = Field(default=None, primary_key=True)
    scan_id: str = Field(max_length=36, unique=True, index=True)
    sources: list = Field(default_factory=list, sa_type=JSON)
    repo_id: str | None = Field(default=None, max_length=200, index=True)  # a Hub dataset repo
    revision: str | None = Field(default=None, max_length=100)
    status: str = Field(default=ScanStatus.QUEUED, max_length=16, index=True)
    shards_total: int | None = None
    shards_done: int = 0
    images: int = 0
    unreadable: int = 0
    matched: int = 0
    result: dict | None = Field(default=None, sa_type=JSON)  # the CLI's --json shape
    attestation: dict | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=500)
    case_id: int | None = None
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DatasetShardResult(SQLModel, table=True):
    __tablename__ = "dataset_shard_results"
    __table_args__ = (UniqueConstraint("scan_pk", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    scan_pk: int = Field(foreign_key="dataset_scans.id")  # indexed by the unique (scan_pk, sha256)
    sha256: str = Field(max_length=64)
    name: str = Field(max_length=500)
    result: dict = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
