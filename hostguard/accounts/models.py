"""Tables and enums for staff users and API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from hostguard.db.types import UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"
    SENIOR_MODERATOR = "senior_moderator"
    LEGAL = "legal"
    AUDITOR = "auditor"


class Scope(StrEnum):
    OPERATOR = "operator"
    TRUSTED_FLAGGER = "trusted_flagger"
    AUTHORITY = "authority"
    MODERATOR = "moderator"


# Role groups used by route guards; a role appears where its people do that work.
STAFF = frozenset(Role)
CASE_WORKERS = frozenset({Role.MODERATOR, Role.SENIOR_MODERATOR, Role.LEGAL, Role.ADMIN})
SENIOR = frozenset({Role.SENIOR_MODERATOR})
LEGAL = frozenset({Role.LEGAL})
ADMINS = frozenset({Role.ADMIN})
AUDIT_READERS = frozenset({Role.ADMIN, Role.AUDITOR})


class UserBase(SQLModel):
    email: str = Field(index=True, unique=True, max_length=320)
    role: str = Field(max_length=32)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(repr=False)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Console preferences, e.g. {"blur_media": false} to turn the wellness blur off.
    preferences: dict = Field(default_factory=dict, sa_type=JSON)
    # the teams the user belongs to (0017_queues): a queue may be worked by its teams
    teams: list = Field(default_factory=list, sa_type=JSON)

    @property
    def actor(self) -> str:
        return f"user:{self.id}"


class UserPublic(UserBase):
    id: int
    active: bool


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(unique=True, max_length=64, repr=False)
    scopes: str = Field(max_length=200)  # comma separated Scope values
    # A moderator-scope key acts on behalf of this staff user (claims, decisions).
    user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A trusted_flagger-scope key belongs to this entry of the Art. 22 register (0009).
    flagger_id: int | None = Field(default=None, foreign_key="trusted_flaggers.id", index=True)
    # a sandbox key's upload checks are answered by the sandbox (hostguard.uploads.sandbox):
    # nothing is stored, no case is opened, no report counts them; other routes refuse it
    sandbox: bool = False

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    @property
    def actor(self) -> str:
        return f"apikey:{self.id}"


class UploadToken(SQLModel, table=True):
    """A short-lived credential the platform mints for one uploader and one repo (0019).

    It may only run upload checks and certify for that uploader and repo, so an uploader's
    machine (`hostguard-upload`, the Hub wrapper, the client library) never holds an operator
    key. Only the SHA-256 of the token is stored.
    """

    __tablename__ = "upload_tokens"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, index=True)
    token_hash: str = Field(unique=True, max_length=64, repr=False)
    uploader_id: str = Field(max_length=200)  # the uploader's platform id
    repo_id: str = Field(max_length=200)  # normalised owner/name
    repo_type: str = Field(default="model", max_length=16)
    created_by: str = Field(max_length=64)  # the actor (an operator key) that minted it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def actor(self) -> str:
        return f"uploadtoken:{self.id}"


class ApiKeyPublic(SQLModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class FlaggerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # Art. 22(6): at a Digital Services Coordinator's request


class TrustedFlagger(SQLModel, table=True):
    """An entry of the Art. 22 register: an entity a Digital Services Coordinator designated.

    `areas` are the policy's case categories it has expertise in; only its notices in those
    areas are prioritised, and none while it is suspended.
    """

    __tablename__ = "trusted_flaggers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    coordinator: str = Field(max_length=300)  # the Digital Services Coordinator that designated it
    member_state: str = Field(max_length=2)  # the coordinator's member state (ISO 3166 alpha-2)
    areas: list = Field(default_factory=list, sa_type=JSON)  # policy category ids
    designated_on: datetime = Field(sa_type=UTCDateTime)
    designation_reference: str = Field(max_length=200)
    status: str = Field(default=FlaggerStatus.ACTIVE, max_length=16)
    status_reason: str | None = Field(default=None, max_length=1000)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def active(self) -> bool:
        return self.status == FlaggerStatus.ACTIVE
