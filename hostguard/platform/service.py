"""Finding or recording uploaders and repositories by the platform's own identifiers."""

from __future__ import annotations

import re

from sqlalchemy import and_, bindparam, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader

REPO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"
REPO_ID = re.compile(REPO_ID_PATTERN)
_URL_PREFIX = re.compile(r"^https?://[^/]+/(?:(?:models|datasets|spaces)/)?")

# Every upload check looks both up (docs/DEVELOPING.md, "Statements on hot paths").
_UPLOADER = select(Uploader).where(Uploader.platform_id == bindparam("platform_id"))
_REPO = select(ModelRepo).where(
    ModelRepo.repo_id == bindparam("repo_id"), ModelRepo.repo_type == bindparam("repo_type")
)
# Both in one round trip: one row (from a one-row subquery) with the uploader and the repo
# outer-joined to it, each None when not recorded yet.
_UPLOADER_AND_REPO = (
    select(Uploader, ModelRepo)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(Uploader, col(Uploader.platform_id) == bindparam("platform_id"))
    .outerjoin(
        ModelRepo,
        and_(
            col(ModelRepo.repo_id) == bindparam("repo_id"),
            col(ModelRepo.repo_type) == bindparam("repo_type"),
        ),
    )
)


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


def _platform_id(platform_id: str | None) -> str:
    platform_id = (platform_id or "").strip()
    if not platform_id or len(platform_id) > 200:
        raise InvalidInput("uploader id is required (at most 200 characters)")
    return platform_id


def _complete_uploader(
    session: Session,
    uploader: Uploader | None,
    *,
    platform_id: str,
    username: str | None,
    email: str | None,
    keys,
) -> Uploader:
    """The found uploader (or a new one) with the username and e-mail the platform sent."""
    if uploader is None:
        uploader = _insert_or_find(
            session, Uploader(platform_id=platform_id), _UPLOADER, {"platform_id": platform_id}
        )
    if username and uploader.username != username[:200]:  # an unchanged row needs no UPDATE
        uploader.username = username[:200]
    if email and keys is not None:
        uploader.email_enc = keys.encrypt(email)
    session.flush()
    return uploader


def _complete_repo(
    session: Session,
    repo: ModelRepo | None,
    *,
    repo_id: str,
    repo_type: str,
    uploader: Uploader | None,
) -> ModelRepo:
    """The found repository (or a new one), owned by `uploader` if it had no owner."""
    if repo is None:
        repo = _insert_or_find(
            session,
            ModelRepo(repo_id=repo_id, repo_type=repo_type),
            _REPO,
            {"repo_id": repo_id, "repo_type": repo_type},
        )
    if uploader is not None and repo.uploader_id is None:
        repo.uploader_id = uploader.id
    session.flush()
    return repo


def get_or_create_uploader(
    session: Session,
    *,
    platform_id: str,
    username: str | None = None,
    email: str | None = None,
    keys=None,
) -> Uploader:
    platform_id = _platform_id(platform_id)
    found = session.exec(_UPLOADER, params={"platform_id": platform_id}).first()
    return _complete_uploader(
        session, found, platform_id=platform_id, username=username, email=email, keys=keys
    )


def get_or_create_repo(
    session: Session, *, repo_id: str, repo_type: str = "model", uploader: Uploader | None = None
) -> ModelRepo:
    repo_id = normalise_repo_id(repo_id)
    found = session.exec(_REPO, params={"repo_id": repo_id, "repo_type": repo_type}).first()
    return _complete_repo(session, found, repo_id=repo_id, repo_type=repo_type, uploader=uploader)


def get_or_create_uploader_and_repo(
    session: Session,
    *,
    platform_id: str,
    repo_id: str,
    repo_type: str = "model",
    username: str | None = None,
    email: str | None = None,
    keys=None,
) -> tuple[Uploader, ModelRepo]:
    """`get_or_create_uploader` and then `get_or_create_repo` owned by that uploader, with both
    looked up in one statement (every upload check needs the two)."""
    platform_id = _platform_id(platform_id)
    repo_id = normalise_repo_id(repo_id)
    found_uploader, found_repo = session.exec(
        _UPLOADER_AND_REPO,
        params={"platform_id": platform_id, "repo_id": repo_id, "repo_type": repo_type},
    ).one()
    uploader = _complete_uploader(
        session, found_uploader, platform_id=platform_id, username=username, email=email, keys=keys
    )
    repo = _complete_repo(
        session, found_repo, repo_id=repo_id, repo_type=repo_type, uploader=uploader
    )
    return uploader, repo


def find_repo(session: Session, repo_id: str, repo_type: str = "model") -> ModelRepo | None:
    return session.exec(
        select(ModelRepo).where(ModelRepo.repo_id == repo_id, ModelRepo.repo_type == repo_type)
    ).first()
