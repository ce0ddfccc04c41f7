"""Upload tokens: short-lived credentials for one uploader and one repo, minted by the platform.

The platform (with its operator key) mints a token when an uploader starts an upload and hands
it to the uploader's tool (`hostguard-upload`, the Hub wrapper, the client library). The token
runs the upload check and certifies for that uploader and repo only: anything else is refused
(403), and an expired token is refused as unauthenticated (401). Only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, select

from hostguard.accounts.models import UploadToken
from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import AuthenticationRequired, InvalidInput, PermissionDenied
from hostguard.platform.service import normalise_repo_id

TOKEN_PREFIX = "hgu_"
MIN_TTL_SECONDS = 60
_BY_DIGEST = select(UploadToken).where(UploadToken.token_hash == bindparam("digest"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # 256 random bits: one SHA-256 suffices


def is_upload_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX)


def mint_upload_token(
    *,
    session: Session,
    actor: str,
    uploader_id: str,
    repo_id: str,
    repo_type: str = "model",
    ttl_seconds: int | None,
    default_ttl: int,
    max_ttl: int,
) -> tuple[UploadToken, str]:
    """Mint a token for one uploader and repo; the plaintext is returned once.

    `ttl_seconds` (None: `default_ttl`) must lie between a minute and `max_ttl` (settings
    `upload_token_ttl` and `upload_token_max_ttl`)."""
    ttl = default_ttl if ttl_seconds is None else ttl_seconds
    if not MIN_TTL_SECONDS <= ttl <= max_ttl:
        raise InvalidInput(
            f"ttl_seconds must be between {MIN_TTL_SECONDS} and {max_ttl} "
            "(the upload_token_max_ttl setting)",
            code="invalid_ttl",
        )
    uploader_id = uploader_id.strip()
    if not uploader_id:
        raise InvalidInput("an upload token needs an uploader id")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = UploadToken(
        prefix=prefix,
        token_hash=_digest(plaintext),
        uploader_id=uploader_id,
        repo_id=normalise_repo_id(repo_id),
        repo_type=repo_type,
        created_by=actor[:64],
        expires_at=utcnow() + timedelta(seconds=ttl),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="upload_token.mint",
        subject=f"uploadtoken:{token.id}",
        details={
            "uploader": uploader_id,
            "repo": token.repo_id,
            "repo_type": repo_type,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, plaintext


def find_upload_token(*, session: Session, plaintext: str) -> UploadToken:
    """The live token for this plaintext; 401 when it is unknown, revoked or expired."""
    token = session.exec(_BY_DIGEST, params={"digest": _digest(plaintext)}).first()
    if token is None or token.revoked_at is not None:
        raise AuthenticationRequired(
            "the upload token is unknown or revoked", code="invalid_upload_token"
        )
    if token.expires_at <= utcnow():
        raise AuthenticationRequired(
            "the upload token has expired: ask the platform for a new one",
            code="upload_token_expired",
        )
    return token


def require_token_covers(
    token: UploadToken, *, uploader_id: str, repo_id: str, repo_type: str | None = None
) -> None:
    """Refuse (403) a check or certification for another uploader or repo than the token's."""
    try:
        repo = normalise_repo_id(repo_id)
    except InvalidInput:
        repo = repo_id
    if (
        uploader_id != token.uploader_id
        or repo != token.repo_id
        or (repo_type is not None and repo_type != token.repo_type)
    ):
        raise PermissionDenied(
            f"this upload token is for uploader {token.uploader_id!r} and "
            f"{token.repo_type} {token.repo_id!r} only",
            code="upload_token_scope",
        )
