"""Tables of hostguard.hashing: hash lists, their entries, and kept hashes of accepted samples.

No image or video is ever stored: `SampleImageHash` keeps only the hashes of sample images
and videos that passed the upload check (a video's vPDQ frames in `SampleVideoFrames`), so
later list imports can be matched against past uploads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow
from hostguard.policy import ListAction

REUPLOAD_LIST = "reupload-prevention"


class HashList(SQLModel, table=True):
    __tablename__ = "hash_lists"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    algorithm: str = Field(max_length=16)
    threshold: int | None = None  # None: the algorithm's default
    category: str = Field(default="other", max_length=64)
    action: str = Field(default=ListAction.BLOCK, max_length=16)
    source: str | None = Field(default=None, max_length=500)
    enabled: bool = True
    internal: bool = False  # maintained by hostguard itself (re-upload prevention)
    entry_count: int = 0
    # Bumped by every change of the entries: processes compare it to reload their index.
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HashEntry(SQLModel, table=True):
    __tablename__ = "hash_entries"
    __table_args__ = (UniqueConstraint("list_id", "hash"),)

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="hash_lists.id")  # indexed by the unique (list_id, hash)
    hash: str = Field(max_length=64)  # lower-case hex; never shown to anyone
    ref: str | None = Field(default=None, max_length=200)  # the provider's entry id
    label: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64)  # None: the list's category
    # active, suppressed (allow-listed: matched wrongly) or quarantined (matched too many
    # images at once); only active entries act. Read with every match, so a change acts at
    # once in every process without rebuilding an index. The server default keeps COPY simple.
    state: str = Field(
        default="active", max_length=16, sa_column_kwargs={"server_default": "active"}
    )


class EntryState:
    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    QUARANTINED = "quarantined"


class HashSuppression(SQLModel, table=True):
    """An allow-listed hash of one list: its entry, now or re-imported later, does not act."""

    __tablename__ = "hash_suppressions"
    __table_args__ = (UniqueConstraint("list_id", "hash"),)

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="hash_lists.id")
    hash: str = Field(max_length=64)  # the entry's hash; never shown
    reason: str = Field(max_length=500)
    actor: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VideoFrames(SQLModel, table=True):
    """The vPDQ frames of one listed video (an entry of a `vpdq` list, whose `hash` is the
    video's identity): `quality:hex` per frame, space-separated; never shown to anyone."""

    __tablename__ = "hash_video_frames"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(unique=True, index=True)  # no foreign key, as for EntryHit
    list_id: int = Field(index=True)
    frame_count: int
    frames: str


class EntryHit(SQLModel, table=True):
    """One image an entry matched in an upload check, for the quarantine of flooding entries."""

    __tablename__ = "hash_entry_hits"
    __table_args__ = (Index("ix_hash_entry_hits_entry_at", "entry_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int  # no foreign key: entries come and go with imports
    image: str = Field(max_length=64)  # the image's SHA-256, to count distinct images
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SampleImageHash(SQLModel, table=True):
    """Hashes of one accepted sample image (or video) for one algorithm (the file itself is not
    kept). A sample video's vPDQ hash is a row with algorithm `vpdq`, whose `hash` is the
    video's identity (`video.video_identity`) and whose frames are in `SampleVideoFrames`."""

    __tablename__ = "sample_image_hashes"

    id: int | None = Field(default=None, primary_key=True)
    repo_pk: int = Field(foreign_key="model_repos.id", index=True)
    revision: str | None = Field(default=None, max_length=100)
    path: str = Field(max_length=500)
    ref: str | None = Field(default=None, max_length=200)  # e.g. the upload check
    algorithm: str = Field(max_length=16, index=True)
    hash: str = Field(max_length=64)  # the primary hash
    variants: list = Field(default_factory=list, sa_type=JSON)  # every hash used for matching
    # PDQ hashes of quality 1-49 (a flat image's), matched only at the policy's stricter
    # `matching.low_quality_pdq_threshold`; None on rows kept before they were (the primary
    # hash stands in for them then)
    low_quality_variants: list | None = Field(default=None, sa_type=JSON)
    quality: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SampleVideoFrames(SQLModel, table=True):
    """The vPDQ frames of one accepted sample video (its `vpdq` SampleImageHash row), as
    `VideoFrames` keeps a listed video's: `quality:hex` per frame, space-separated; hashes only,
    never pixels, never shown to anyone. Kept as long as the sample's row."""

    __tablename__ = "sample_video_frames"

    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="sample_image_hashes.id", unique=True, index=True)
    frame_count: int
    frames: str


class RetroactiveHit(SQLModel, table=True):
    """A past sample that matched a list entry, so re-running the match opens no second case."""

    __tablename__ = "hash_retroactive_hits"
    __table_args__ = (UniqueConstraint("sample_id", "entry_id"),)

    id: int | None = Field(default=None, primary_key=True)
    sample_id: int = Field(foreign_key="sample_image_hashes.id", index=True)
    entry_id: int = Field(index=True)  # no foreign key: entries come and go with imports
    case_id: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
