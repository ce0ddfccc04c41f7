"""Tables of hostguard.exchanges: connected exchanges, their fetched records and queued feedback.

An exchange feeds the hash list of its name. `ExchangeRecord` keeps, per record the exchange
sent (its own key: an NCMEC entry id, a StopNCII signal), the hashes it gave, so a later update
or deletion of that record changes exactly the list entries it made; the checkpoint is saved
in the transaction that applies each batch, so a fetch resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class Exchange(SQLModel, table=True):
    __tablename__ = "exchanges"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)  # also its hash list's name
    type: str = Field(max_length=32)  # ncmec, stopncii, threatexchange, tat, file
    algorithm: str = Field(max_length=16)
    settings: dict = Field(default_factory=dict, sa_type=JSON)  # never a secret
    credentials_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    interval_seconds: int
    enabled: bool = True
    checkpoint: dict | None = Field(default=None, sa_type=JSON)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # how far the exchange's own data is known to be applied (its timestamp), for the lag
    progress_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    failures: int = 0  # consecutive failed fetches
    last_added: int = 0
    last_removed: int = 0
    added_total: int = 0
    removed_total: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The fetch lease: who fetches now (host:pid:nonce) and until when unless renewed. Taken
    # in its own transaction and renewed with each group applied, so a manual fetch and the
    # worker's never apply pages of the same exchange at once; a killed holder's lease lapses
    # (at once on its own host, where its process is seen to be gone).
    fetch_holder: str | None = Field(default=None, max_length=200)
    fetch_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExchangeRecord(SQLModel, table=True):
    """One hash one exchange record gave; an entry stays on the list while a record holds it."""

    __tablename__ = "exchange_records"
    __table_args__ = (
        UniqueConstraint("exchange_id", "key", "hash"),
        Index("ix_exchange_records_exchange_hash", "exchange_id", "hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int = Field(foreign_key="exchanges.id")
    key: str = Field(max_length=300)  # the exchange's own record key
    hash: str = Field(max_length=64)  # never shown
    label: str | None = Field(default=None, max_length=200)


class FeedbackStatus:
    QUEUED = "queued"
    SENDING = "sending"  # committed before the exchange is called: the outcome may be unknown
    SENT = "sent"
    DEAD = "dead"


class ExchangeFeedback(SQLModel, table=True):
    """A false-positive report owed to an exchange, sent once by a job with retries."""

    __tablename__ = "exchange_feedback"
    __table_args__ = (UniqueConstraint("exchange_id", "hash", "opinion"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange_id: int = Field(foreign_key="exchanges.id", index=True)
    hash: str = Field(max_length=64)  # the entry's hash as the exchange sent it; never shown
    ref: str | None = Field(default=None, max_length=300)  # the exchange's record key
    opinion: str = Field(default="false_positive", max_length=32)
    status: str = Field(default=FeedbackStatus.QUEUED, max_length=16)
    actor: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sending_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the last call began
    # calls begun; more than one means it was sent again after an unknown outcome
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
