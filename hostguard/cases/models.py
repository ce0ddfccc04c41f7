"""Cases (one open case per model) and the evidence that opened or joined them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class CaseStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    DECIDED = "decided"
    APPEALED = "appealed"
    CLOSED = "closed"


OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.ESCALATED, CaseStatus.APPEALED)


class CaseSource(StrEnum):
    NOTICE = "notice"
    TRUSTED_FLAGGER = "trusted_flagger"
    ORDER = "order"
    HASH_MATCH = "hash_match"
    RETROACTIVE_MATCH = "retroactive_match"
    UPLOAD_CHECK = "upload_check"
    OWN_INITIATIVE = "own_initiative"


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_queue", "status", "priority", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_pk: int = Field(foreign_key="model_repos.id", index=True)
    status: str = Field(default=CaseStatus.OPEN, max_length=16, index=True)
    category: str = Field(max_length=64, index=True)
    source: str = Field(max_length=32, index=True)  # the strongest source so far
    priority: int = Field(default=0, index=True)  # higher first
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    assigned_to: int | None = Field(default=None, foreign_key="users.id", index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    legal_hold_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary: str = Field(default="", max_length=2000)


class CaseEvidence(SQLModel, table=True):
    """What brought the case: a notice, an order, a hash match, a failed check (no image bytes)."""

    __tablename__ = "case_evidence"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    source: str = Field(max_length=32)
    kind: str = Field(max_length=64)  # notice, order, hash_match, upload_check, ...
    ref: str | None = Field(default=None, max_length=200)  # e.g. notice:12, check:abc
    details: dict = Field(default_factory=dict, sa_type=JSON)
    automated: bool = False
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
