"""The job queue's tables: one row per unit of background work, and when each periodic task last ran."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # gave up after max_attempts; visible to operators


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=100, index=True)
    payload: dict = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=JobStatus.QUEUED, max_length=16)
    # Jobs with the same dedupe key are enqueued once (e.g. one delivery per event).
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    attempts: int = 0
    max_attempts: int = 8
    run_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=100)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PeriodicTask(SQLModel, table=True):
    """One row per registered periodic task; the row lock decides which worker enqueues it."""

    __tablename__ = "periodic_tasks"

    name: str = Field(primary_key=True, max_length=100)
    every_seconds: int
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_job_id: int | None = None
