"""Tables of hostguard.integrations: the Hub settings a repo had before hostguard hid it, to restore."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class HubPriorSettings(SQLModel, table=True):
    """How a Hub repo was set before hostguard first hid or gated it, so `restore` puts back exactly that.

    One row per hiding episode: written by the first quarantine, restriction or take-down of a repo
    that has no open row (read from the Hub with `HfApi.repo_info`), closed (`restored_at`) by the
    `restore` that puts those settings back. Later actions in the same episode keep the first row:
    a take-down after a quarantine must not record the quarantined state as "before".
    """

    __tablename__ = "hub_prior_settings"

    id: int | None = Field(default=None, primary_key=True)
    repo_type: str = Field(default="model", max_length=32)
    repo_id: str = Field(max_length=300, index=True)
    private: bool
    gated: str | None = Field(default=None, max_length=16)  # "auto" | "manual"; None: not gated
    action: str = Field(max_length=32)  # the action that recorded it
    case_id: int | None = None
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    restored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
