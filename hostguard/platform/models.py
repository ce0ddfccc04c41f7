"""Uploaders and model repositories on the platform, shared by every domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class UploaderStatus(StrEnum):
    ACTIVE = "active"
    WARNED = "warned"
    SUSPENDED = "suspended"


class Uploader(SQLModel, table=True):
    __tablename__ = "uploaders"

    id: int | None = Field(default=None, primary_key=True)
    platform_id: str = Field(max_length=200, unique=True, index=True)  # the platform's user id
    username: str | None = Field(default=None, max_length=200)
    email_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)  # encrypted
    status: str = Field(default=UploaderStatus.ACTIVE, max_length=16)
    suspended_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    strikes: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RepoStatus(StrEnum):
    ACTIVE = "active"
    QUARANTINED = "quarantined"  # made private or gated pending review
    RESTRICTED = "restricted"
    TAKEN_DOWN = "taken_down"


class ModelRepo(SQLModel, table=True):
    """A repository on the platform (`owner/name`); may exist here before any upload check."""

    __tablename__ = "model_repos"
    __table_args__ = (UniqueConstraint("repo_type", "repo_id"),)

    id: int | None = Field(default=None, primary_key=True)
    repo_id: str = Field(max_length=300, index=True)  # owner/name
    repo_type: str = Field(default="model", max_length=32)
    uploader_id: int | None = Field(default=None, foreign_key="uploaders.id", index=True)
    visibility: str = Field(default="public", max_length=16)
    last_revision: str | None = Field(default=None, max_length=100)
    status: str = Field(default=RepoStatus.ACTIVE, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
