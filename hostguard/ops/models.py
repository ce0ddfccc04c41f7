"""Tables of hostguard.ops: when each periodic task last ran, shared by every worker."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime


class PeriodicTask(SQLModel, table=True):
    """One row per registered periodic task; the row lock decides which worker enqueues it."""

    __tablename__ = "periodic_tasks"

    name: str = Field(primary_key=True, max_length=100)
    every_seconds: int
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_enqueued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_job_id: int | None = None
