"""Tables of hostguard.uploads: pre-upload checks, know-your-uploader, certifications.

Personal data (names, addresses, dates of birth, the name typed to sign) is stored only
encrypted (`*_enc` columns, written with `runtime.keys.encrypt`); ID documents live
encrypted in the documents directory, referenced by a random file name.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, LargeBinary
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class CheckDecision(StrEnum):
    """The answer to an upload check (the `decision` field). Not a moderator's decision:
    that is `hostguard.cases.models.Decision`."""

    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


class UploadCheck(SQLModel, table=True):
    """One pre-upload check: the same uploader, repo, revision, visibility and content is one row."""

    __tablename__ = "upload_checks"

    id: int | None = Field(default=None, primary_key=True)
    check_id: str = Field(max_length=36, unique=True)
    # check.content_key: sha256 of repo, revision, visibility, uploader and content (files, images)
    idempotency_key: str = Field(max_length=64, unique=True)
    repo_pk: int = Field(foreign_key="model_repos.id", index=True)
    uploader_pk: int | None = Field(default=None, foreign_key="uploaders.id", index=True)
    revision: str = Field(max_length=100)
    visibility: str = Field(max_length=16)
    source: str = Field(default="api", max_length=32)  # api, huggingface_webhook, git_hook
    decision: str = Field(max_length=8, index=True)
    reasons: list = Field(default_factory=list, sa_type=JSON)
    matches: list = Field(default_factory=list, sa_type=JSON)  # never hash values or image bytes
    watermark: dict | None = Field(default=None, sa_type=JSON)
    answer: dict = Field(default_factory=dict, sa_type=JSON)  # last answer given, for retries
    file_count: int = 0
    image_count: int = 0
    case_id: int | None = None
    policy_id: str = Field(max_length=64)
    policy_version: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # decisions announced so far (upload.decision, then upload.decision_changed): the next
    # event's sequence number, and with the check id what makes its event id stable
    decision_seq: int = 0


class KyuStatus(StrEnum):
    REQUIRES_INPUT = "requires_input"
    PENDING_REVIEW = "pending_review"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REDACTED = "redacted"
    # legal asked the uploader to add something (the request is in rejection_reason); the
    # submission stays and the uploader sends it again completed
    NEEDS_INFORMATION = "needs_information"


class KyuSubmission(SQLModel, table=True):
    """An uploader's identity details and ID document, and where their review stands."""

    __tablename__ = "kyu_submissions"

    id: int | None = Field(default=None, primary_key=True)
    uploader_pk: int = Field(foreign_key="uploaders.id", index=True)
    status: str = Field(default=KyuStatus.REQUIRES_INPUT, max_length=20, index=True)
    legal_name_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    address_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    country_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    date_of_birth_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    document_ref: str | None = Field(default=None, max_length=64)  # file in documents_dir
    document_type: str | None = Field(default=None, max_length=32)
    rejection_reason: str | None = Field(default=None, max_length=1000)  # shown to the uploader
    reviewed_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PersonalDataAccess(SQLModel, table=True):
    """Every read of personal data: who, when, which record and fields, and why."""

    __tablename__ = "personal_data_access"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    kyu_pk: int = Field(foreign_key="kyu_submissions.id", index=True)
    what: str = Field(max_length=100)  # "details", "document"
    reason: str = Field(max_length=500)


class Certification(SQLModel, table=True):
    """Statements an uploader certified for a repository revision, with the signed receipt."""

    __tablename__ = "certifications"

    id: int | None = Field(default=None, primary_key=True)
    certification_id: str = Field(max_length=36, unique=True)
    uploader_pk: int = Field(foreign_key="uploaders.id", index=True)
    repo_pk: int = Field(foreign_key="model_repos.id", index=True)
    revision: str = Field(max_length=100, index=True)
    statements: list = Field(default_factory=list, sa_type=JSON)  # id, version, text_sha256, fields
    signed_name_enc: bytes | None = Field(default=None, sa_type=LargeBinary, repr=False)
    policy_id: str = Field(max_length=64)
    policy_version: int
    receipt: dict = Field(default_factory=dict, sa_type=JSON)
    via: str = Field(default="api", max_length=16)  # api, portal, terminal
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
