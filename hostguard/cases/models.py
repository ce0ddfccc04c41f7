"""Cases (one open case per model) and the evidence that opened or joined them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class CaseStatus(StrEnum):
    """A decided case stays `decided` (it can still be appealed, and a notice about the same model
    opens a new case); there is no separate closed state."""

    OPEN = "open"
    ESCALATED = "escalated"
    DECIDED = "decided"
    APPEALED = "appealed"
    MERGED = "merged"  # a duplicate merged into another case (`merged_into`), closed


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
    __table_args__ = (
        Index("ix_cases_queue", "status", "priority", "id"),
        # the dashboard's covering indexes (migration 0018)
        Index("ix_cases_open_depth", "status", "escalated_to", "category", "assigned_to"),
        Index("ix_cases_open_deadline", "status", "deadline_at", "category"),
        Index("ix_cases_decided", "decided_at", "source", "deadline_at", "opened_at"),
        Index("ix_cases_queue_name", "queue"),
    )

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
    # added in 0004_cases
    escalated_to: str | None = Field(default=None, max_length=16)  # senior | legal
    automated: bool = False  # some evidence came from automated detection
    # added in 0012_moderation: the holder's last activity; the claim lapses after the policy's lease
    claim_active_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # added in 0017_queues: the named queue the policy routed the case to, the language a notice
    # gave, and the case a duplicate was merged into
    queue: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    merged_into: int | None = None


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
    # the uploader's IP address as the platform gave it with the check (encrypted personal
    # data), kept only for cases in a legal-hold category, for a hotline report (0009)
    uploader_ip_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)


# --- notice-and-action tables (migration 0004_cases) -----------------------------------------


class NotifierStatus(StrEnum):
    ACTIVE = "active"
    WARNED = "warned"
    SUSPENDED = "suspended"


class Notifier(SQLModel, table=True):
    """Who sends notices, tracked for misuse (Art. 23) by a keyed digest of their e-mail address.

    Anonymous notices (allowed for child sexual abuse material) have no notifier row.
    """

    __tablename__ = "notifiers"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="public", max_length=32)  # public | trusted_flagger
    email_digest: str | None = Field(default=None, max_length=64, unique=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_keys.id", unique=True)
    organisation: str | None = Field(default=None, max_length=200)  # trusted flaggers only
    notices: int = 0
    decided: int = 0
    unfounded: int = 0
    status: str = Field(default=NotifierStatus.ACTIVE, max_length=16)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspended_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NoticeStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class Notice(SQLModel, table=True):
    """An Art. 16 notice (public or trusted flagger); the notifier's contact is encrypted."""

    __tablename__ = "notices"

    id: int | None = Field(default=None, primary_key=True)
    notifier_id: int | None = Field(default=None, foreign_key="notifiers.id", index=True)
    source: str = Field(max_length=32)  # notice | trusted_flagger
    category: str = Field(max_length=64)
    explanation: str = Field(max_length=10000)
    items: list = Field(default_factory=list, sa_type=JSON)  # normalised repo ids
    name_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    email_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    good_faith: bool = True
    client_digest: str | None = Field(
        default=None, max_length=64, index=True
    )  # keyed digest of the IP
    status: str = Field(default=NoticeStatus.OPEN, max_length=16)
    outcome: str | None = Field(default=None, max_length=16)  # founded | unfounded
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the register entry whose key sent it (0009), even when it was handled as an ordinary
    # notice (outside its areas of expertise, or while suspended): the Art. 22(3) figures
    flagger_id: int | None = Field(default=None, foreign_key="trusted_flaggers.id", index=True)


class NoticeItem(SQLModel, table=True):
    __tablename__ = "notice_items"
    __table_args__ = (UniqueConstraint("notice_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notices.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    repo_id: str = Field(max_length=300)
    # where the notifier pointed, when they gave a URL: the URL itself, the file and revision in it
    url: str | None = Field(default=None, max_length=2000)
    path: str | None = Field(default=None, max_length=1000)
    revision: str | None = Field(default=None, max_length=1000)


class OrderStatus(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    EFFECT_GIVEN = "effect_given"
    NOT_GIVEN = "not_given"


class AuthorityOrder(SQLModel, table=True):
    """An Art. 9 order to act against illegal content, with its acknowledgement and effect."""

    __tablename__ = "authority_orders"
    __table_args__ = (
        UniqueConstraint("created_by", "reference"),
    )  # a repeated order is the same order

    id: int | None = Field(default=None, primary_key=True)
    authority: str = Field(max_length=300)
    member_state: str = Field(default="", max_length=8)
    reference: str = Field(max_length=200, index=True)
    legal_basis: str = Field(max_length=2000)
    category: str = Field(max_length=64)
    explanation: str = Field(default="", max_length=10000)
    items: list = Field(default_factory=list, sa_type=JSON)
    territorial_scope: list = Field(default_factory=list, sa_type=JSON)
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    feedback_to_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    status: str = Field(default=OrderStatus.RECEIVED, max_length=16)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    effect_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    feedback: str | None = Field(default=None, max_length=10000)
    feedback_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)


class OrderItem(SQLModel, table=True):
    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="authority_orders.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    repo_id: str = Field(max_length=300)


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"

    __table_args__ = (Index("ix_decisions_made", "decided_at", "decided_by", "actor"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    action: str = Field(max_length=32)
    ground: str = Field(max_length=32)
    ground_reference: str = Field(max_length=500)
    category: str = Field(max_length=64)
    explanation: str = Field(max_length=2000)
    restrict_mode: str | None = Field(default=None, max_length=16)
    escalated_to: str | None = Field(default=None, max_length=16)
    territorial_scope: list = Field(default_factory=list, sa_type=JSON)  # empty: worldwide
    end_date: datetime | None = Field(default=None, sa_type=UTCDateTime)
    automated: bool = False  # automated detection was involved
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    actor: str = Field(max_length=64)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    reversed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reversed_by_appeal_id: int | None = None


class StatementOfReasons(SQLModel, table=True):
    """The Art. 17 statement to the uploader and its Transparency Database form (no personal data)."""

    __tablename__ = "statements_of_reasons"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decisions.id", unique=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    puid: str = Field(max_length=500, unique=True)
    text: str
    tdb: dict = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submission_error: str | None = Field(default=None, max_length=2000)
    # Transparency Database submission (cases/statements/submission.py): pending, sending,
    # submitted or failed; a failed one with no next attempt waits for a person.
    submission_state: str = Field(default="pending", max_length=16, index=True)
    submission_attempts: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tdb_uuid: str | None = Field(default=None, max_length=64)  # the database's id for it


class AppealStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class Appeal(SQLModel, table=True):
    """An Art. 20 internal complaint against a decision, by the uploader or a notifier."""

    __tablename__ = "appeals"

    __table_args__ = (Index("ix_appeals_decided", "decided_at", "outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    decision_id: int = Field(foreign_key="decisions.id", index=True)
    appellant: str = Field(max_length=16)  # uploader | notifier
    notice_id: int | None = Field(default=None, foreign_key="notices.id")
    reason: str = Field(max_length=5000)
    status: str = Field(default=AppealStatus.OPEN, max_length=16, index=True)
    assigned_to: int | None = Field(default=None, foreign_key="users.id")
    outcome: str | None = Field(default=None, max_length=16)  # upheld | overturned
    explanation: str | None = Field(default=None, max_length=2000)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    filed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actor: str = Field(max_length=64)


class CaseNote(SQLModel, table=True):
    __tablename__ = "case_notes"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    author: str = Field(max_length=64)
    body: str = Field(max_length=5000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseLink(SQLModel, table=True):
    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    other_case_id: int = Field(foreign_key="cases.id", index=True)
    reason: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    LOGGED = "logged"  # no channel configured: kept in the outbox for operators
    DEAD = "dead"


class Notification(SQLModel, table=True):
    """Outbox: a message to a notifier, uploader or authority, delivered by a job with retries."""

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    recipient: str = Field(
        max_length=64
    )  # notice:<id> | uploader:<platform id> | order:<id> | appeal:<id>
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=300)
    body: str
    email_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    status: str = Field(default=NotificationStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    channels: list = Field(default_factory=list, sa_type=JSON)  # channels delivered so far
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Sanction(SQLModel, table=True):
    """Art. 23 warnings and suspensions of uploaders and notifiers, for the transparency report."""

    __tablename__ = "sanctions"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=220)  # uploader:<platform id> | notifier:<id>
    action: str = Field(max_length=16)  # warn | suspend | lift
    # illegal_content | terms_of_service | unfounded_notices | unfounded_complaints
    reason: str = Field(max_length=32)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # added in 0017_queues: an automatic suspension is a decision: its statement of reasons,
    # its Transparency Database form (no personal data) and when the suspension was lifted
    statement: str | None = None
    tdb: dict | None = Field(default=None, sa_type=JSON)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SanctionAppeal(SQLModel, table=True):
    """An Art. 20 complaint against an automatic suspension (a notifier's, Art. 23(2))."""

    __tablename__ = "sanction_appeals"

    id: int | None = Field(default=None, primary_key=True)
    sanction_id: int = Field(foreign_key="sanctions.id", index=True)
    reason: str = Field(max_length=5000)
    status: str = Field(default=AppealStatus.OPEN, max_length=16, index=True)
    outcome: str | None = Field(default=None, max_length=16)  # upheld | overturned
    explanation: str | None = Field(default=None, max_length=2000)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    filed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SavedFilter(SQLModel, table=True):
    """A moderator's named queue filter (the queue page's query), theirs alone."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    params: dict = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class QualitySample(SQLModel, table=True):
    """A decision drawn for quality sampling: a second reviewer decides the case blind, and the
    two decisions are compared (same action, ground and category: they agree)."""

    __tablename__ = "quality_samples"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    decision_id: int = Field(foreign_key="decisions.id", unique=True)
    first_reviewer: int | None = Field(default=None, foreign_key="users.id")
    category: str = Field(max_length=64)
    status: str = Field(default="open", max_length=16, index=True)  # open | submitted
    reviewer: int | None = Field(default=None, foreign_key="users.id")
    action: str | None = Field(default=None, max_length=32)
    ground: str | None = Field(default=None, max_length=32)
    review_category: str | None = Field(default=None, max_length=64)
    agrees: bool | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- hotline reports (migration 0009_hotline_flaggers) --------------------------------------


class HotlineReport(SQLModel, table=True):
    """A report filed with a hotline (NCMEC's CyberTipline, an INHOPE member) about a case.

    `media` keeps each reported file's industry classification (A1, A2, B1, B2) as legal
    graded it; `preserve_until` is when the preservation the filing started ends.
    """

    __tablename__ = "hotline_reports"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    hotline: str = Field(max_length=100)
    reference: str = Field(max_length=200)
    incident_type: str = Field(max_length=200)
    media: list = Field(default_factory=list, sa_type=JSON)  # [{"path", "classification"}]
    filed_at: datetime = Field(sa_type=UTCDateTime)
    filed_by: str = Field(max_length=200)
    preserve_until: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
