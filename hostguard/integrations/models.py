"""Tables of hostguard.integrations: the log of signed outbound webhook deliveries and Hub settings to restore."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up after the last attempt


class WebhookDelivery(SQLModel, table=True):
    """One outbound webhook message and what happened to it (attempts, last answer)."""

    __tablename__ = "webhook_deliveries"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=36, unique=True)  # sent as X-Hostguard-Delivery
    event: str = Field(max_length=64, index=True)
    url: str = Field(max_length=500)
    payload: dict = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
