"""Signed, expiring links that let an uploader into the portal without an account."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hostguard.errors import AuthenticationRequired

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

DEFAULT_MAX_AGE = 7 * 24 * 3600


def _serializer(runtime: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime.keys.secret_key, salt="hostguard.portal")


def make_portal_token(
    runtime: Runtime,
    uploader_platform_id: str,
    *,
    purpose: str = "portal",
    extra: dict | None = None,
) -> str:
    return _serializer(runtime).dumps({"u": uploader_platform_id, "p": purpose, **(extra or {})})


class PortalClaims(TypedDict):
    """What a portal link carries: the uploader (`u`), the step (`p`) and, from an upload
    check, the repo, its type, revision and visibility and the check (`repo`, `rt`, `rev`,
    `vis`, `c`)."""

    u: str
    p: str
    repo: NotRequired[str]
    rt: NotRequired[str]
    rev: NotRequired[str]
    vis: NotRequired[str]
    c: NotRequired[str]


def read_portal_token(
    runtime: Runtime, token: str, *, max_age: int = DEFAULT_MAX_AGE
) -> PortalClaims:
    """The token's claims; raises AuthenticationRequired when it is forged or expired."""
    try:
        claims = _serializer(runtime).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise AuthenticationRequired(
            "this link has expired: ask the platform for a new one", code="token_expired"
        ) from exc
    except BadSignature as exc:
        raise AuthenticationRequired("this link is not valid", code="token_invalid") from exc
    return claims


def portal_url(runtime: Runtime, path: str, token: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/portal/{path.lstrip('/')}?token={token}"
