"""The platform's tables, shared by every domain: uploaders, model repositories, outbound webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, LargeBinary, UniqueConstraint
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
    # what the model outputs (text, image, ...), as the last check said; None: not known
    outputs: list[str] | None = Field(default=None, sa_type=JSON)


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
    # deliveries with the same key (e.g. one repo's decision events) are sent one at a time,
    # in the order they were queued; None: no order
    ordering_key: str | None = Field(default=None, max_length=300, index=True)
    # the configured endpoint it goes to (None: the HOSTGUARD_WEBHOOK_URL endpoint) and the
    # event it carries: every endpoint gets its own delivery of one event, with the same
    # `event_id` (0019)
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoints.id", index=True)
    event_id: str | None = Field(default=None, max_length=36, index=True)


class WebhookEndpoint(SQLModel, table=True):
    """A receiver of signed webhook events an operator configured, with its own secret.

    `events` lists the event types it receives (empty: every event); the secret is stored
    encrypted and shown once, when the endpoint is added.
    """

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    url: str = Field(max_length=500)
    secret_enc: bytes = Field(sa_type=LargeBinary, repr=False)
    events: list = Field(default_factory=list, sa_type=JSON)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def receives(self, event: str) -> bool:
        return not self.events or event in self.events
