"""Finding or recording uploaders and repositories by the platform's own identifiers."""

from __future__ import annotations

import re

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_URL_PREFIX = re.compile(r"^https?://[^/]+/(?:(?:models|datasets|spaces)/)?")

# Every upload check looks both up (docs/DEVELOPING.md, "Statements on hot paths").
_UPLOADER = select(Uploader).where(Uploader.platform_id == bindparam("platform_id"))
_REPO = select(ModelRepo).where(ModelRepo.repo_id == bindparam("repo_id"),
                                ModelRepo.repo_type == bindparam("repo_type"))


def normalise_repo_id(value: str) -> str:
    """Accept `owner/name` or a platform URL to it; raise InvalidInput otherwise."""
    raw = (value or "").strip()
    candidate = _URL_PREFIX.sub("", raw).split("?")[0].split("#")[0].strip("/")
    parts = candidate.split("/")
    if len(parts) > 2:  # e.g. /owner/name/tree/main
        candidate = "/".join(parts[:2])
    if not REPO_ID.match(candidate):
        raise InvalidInput(f"'{raw[:200]}' is not a model id like owner/name or a URL to one")
    return candidate


def _insert_or_find(session: Session, row, query, params: dict):
    """Insert `row`; if a concurrent request inserted the same key first, return that one.

    Platforms send the same upload from several workers at once; the savepoint keeps the
    caller's transaction usable after the unique-key conflict.
    """
    try:
        with session.begin_nested():
            session.add(row)
        return row
    except IntegrityError:
        return session.exec(query, params=params).one()


def get_or_create_uploader(session: Session, *, platform_id: str, username: str | None = None,
                           email: str | None = None, keys=None) -> Uploader:
    platform_id = (platform_id or "").strip()
    if not platform_id or len(platform_id) > 200:
        raise InvalidInput("uploader id is required (at most 200 characters)")
    params = {"platform_id": platform_id}
    uploader = session.exec(_UPLOADER, params=params).first()
    if uploader is None:
        uploader = _insert_or_find(session, Uploader(platform_id=platform_id), _UPLOADER, params)
    if username and uploader.username != username[:200]:  # an unchanged row needs no UPDATE
        uploader.username = username[:200]
    if email and keys is not None:
        uploader.email_enc = keys.encrypt(email)
    session.flush()
    return uploader


def get_or_create_repo(session: Session, *, repo_id: str, repo_type: str = "model",
                       uploader: Uploader | None = None) -> ModelRepo:
    repo_id = normalise_repo_id(repo_id)
    params = {"repo_id": repo_id, "repo_type": repo_type}
    repo = session.exec(_REPO, params=params).first()
    if repo is None:
        repo = _insert_or_find(session, ModelRepo(repo_id=repo_id, repo_type=repo_type), _REPO, params)
    if uploader is not None and repo.uploader_id is None:
        repo.uploader_id = uploader.id
    session.flush()
    return repo


def find_repo(session: Session, repo_id: str, repo_type: str = "model") -> ModelRepo | None:
    return session.exec(
        select(ModelRepo).where(ModelRepo.repo_id == repo_id, ModelRepo.repo_type == repo_type)
    ).first()
