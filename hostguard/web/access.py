"""Route guards for every surface; each route declares who may call it, and the guard enforces it.

The declaration (an `Access` on the view function) is also what the OpenAPI document and the
authorisation tests read, so a route cannot exist without saying who it is for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Protocol, TypeVar, cast

from flask import current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from hostguard.accounts.models import UploadToken
from hostguard.accounts.service import find_api_key, get_user, note_key_use
from hostguard.accounts.upload_tokens import (
    find_upload_token,
    is_upload_token,
    require_token_covers,
)
from hostguard.db import READ_ONLY, is_postgres, session_scope
from hostguard.errors import AuthenticationRequired, InvalidInput, PermissionDenied
from hostguard.platform.tokens import read_portal_token
from hostguard.runtime import Runtime

M = TypeVar("M", bound=BaseModel)


class MalformedRequest(InvalidInput):
    code = "malformed_request"


class MalformedJson(MalformedRequest):
    code = "malformed_json"


NESTED_TOO_DEEPLY = "the JSON is nested too deeply"


def parse_json(raw: str | bytes, *, what: str = "the request body") -> Any:
    """`json.loads` that answers 400 for invalid or too deeply nested JSON, never a 500."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise MalformedJson(NESTED_TOO_DEEPLY) from exc
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    except ValueError as exc:  # bytes that are not UTF-8
        raise MalformedRequest(f"{what} is not valid JSON") from exc


def request_json(*, what: str = "the request body") -> Any:
    """The request's body as JSON whatever its content type (400 when it is not JSON)."""
    return parse_json(request.get_data(cache=True), what=what)


@dataclass(frozen=True)
class Access:
    kind: str  # api | staff | portal | public
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    optional_auth: bool = False  # api: a key is accepted (and its scopes used) but not required
    summary: str = ""
    body: type[BaseModel] | None = None
    multipart: dict[str, str] = field(default_factory=dict)  # form field -> description
    query: dict[str, dict] = field(default_factory=dict)  # query parameter -> its JSON Schema
    # api: the rules of the input JSON Schema cannot say (between fields, against stored data,
    # a file's content); the document's description of the operation
    rules: str = ""
    responses: dict = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    sandbox: bool = False  # api: sandbox keys may call it (the view answers them from the sandbox)
    # api: an upload token may call it; the view checks the token covers the uploader and repo
    upload_token: bool = False


class RouteView(Protocol):
    """A view function as `_register` leaves it: callable, with its `Access` attached."""

    access: Access

    def __call__(self, *args: Any, **kwargs: Any) -> ResponseReturnValue: ...


def runtime() -> Runtime:
    return current_app.extensions["hostguard"]


def db() -> Session:
    """The request's session: committed after a successful response, rolled back otherwise."""
    if "db_session" not in g:
        g.db_session = Session(runtime().engine, expire_on_commit=False)
    return g.db_session


def actor() -> str:
    return g.get("actor") or "anonymous"


def _register(
    bp,
    rule: str,
    methods: Iterable[str],
    access: Access,
    guard: Callable[[], ResponseReturnValue | None],
):
    def decorate(fn):
        @wraps(fn)
        def view(*args, **kwargs):
            result = guard()
            if result is not None:
                return result
            return fn(*args, **kwargs)

        routed = cast(RouteView, view)  # `access` is set on the next line
        routed.access = access
        bp.add_url_rule(rule, view_func=routed, methods=list(methods))
        return routed

    return decorate


def _api_key_from_request():
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired("use 'Authorization: Bearer <api key>'")
    session = db()
    if not is_postgres(session.get_bind()):
        # Read the key without SQLite's write lock: a request that waited in the writers'
        # queue to authenticate would wait there again for its own transaction.
        session.connection(execution_options={READ_ONLY: True})
    if is_upload_token(token.strip()):
        return find_upload_token(session=session, plaintext=token.strip())
    key = find_api_key(session=session, plaintext=token.strip())
    if key is None:
        raise AuthenticationRequired("API key is unknown or revoked", code="invalid_api_key")
    return key


def api_route(
    bp,
    rule: str,
    *,
    methods: Iterable[str] = ("GET",),
    scopes: Iterable[str] | None,
    summary: str,
    body: type[BaseModel] | None = None,
    multipart: dict | None = None,
    query: dict | None = None,
    rules: str = "",
    responses: dict | None = None,
    optional_auth: bool = False,
    tags: Iterable[str] = (),
    sandbox: bool = False,
    upload_token: bool = False,
):
    """A JSON API route; `scopes=None` makes it public (with `optional_auth`, a key still counts).
    `sandbox`: sandbox keys may call it; every other keyed route refuses them. `upload_token`:
    an uploader's upload token may call it too (the view calls `token_covers`); every other
    route refuses such tokens."""
    scope_set = frozenset(scopes or ())
    access = Access(
        "api",
        scopes=scope_set,
        summary=summary,
        body=body,
        multipart=multipart or {},
        query=query or {},
        rules=rules,
        responses=responses or {},
        optional_auth=optional_auth or not scope_set,
        tags=tuple(tags),
        sandbox=sandbox,
        upload_token=upload_token,
    )

    def guard():
        key = _api_key_from_request()
        if isinstance(key, UploadToken):
            if not access.upload_token:
                raise PermissionDenied(
                    "an upload token can only run upload checks and certify; this endpoint "
                    "needs an API key",
                    code="upload_token_scope",
                )
            g.upload_token = key
            g.actor = key.actor
            if not is_postgres(db().get_bind()):
                db().commit()
            return None
        # whether the lookup noted the key's last use, read before anything can autoflush it
        touched = key is not None and key in db().dirty
        if key is None:
            if scope_set and not access.optional_auth:
                raise AuthenticationRequired("this endpoint needs an API key")
            g.actor = "public"
            return None
        if scope_set and not (key.scope_set & scope_set):
            raise PermissionDenied(
                f"this endpoint needs an API key with scope {' or '.join(sorted(scope_set))}"
            )
        if key.sandbox and scope_set and not access.sandbox:
            raise PermissionDenied(
                "a sandbox API key can only call the upload check (POST /api/v1/uploads/check)",
                code="sandbox_key",
            )
        g.api_key = key
        g.actor = key.actor
        if key.user_id is not None:
            # no autoflush: on SQLite this session only reads (the key's noted use is written
            # below in a transaction of its own); flushing it here would take SQLite's write
            # lock inside the read snapshot, and the write below would wait on it
            with db().no_autoflush:
                user = get_user(session=db(), user_id=key.user_id)
            if user is None or not user.active:
                raise AuthenticationRequired("the staff user behind this API key is inactive")
            g.user = user
            g.actor = user.actor
        # On SQLite authentication read in a transaction of its own without the write lock
        # (see _api_key_from_request); it ends here, so CPU work a view does before touching
        # the database (hashing sample images) holds no snapshot, and the key's last use (at
        # most once a minute) is written in a short write transaction beside it. Elsewhere a
        # transaction that only read holds no lock, so it commits only when it noted the use.
        session = db()
        if not is_postgres(session.get_bind()):
            if touched:
                assert key.id is not None and key.last_used_at is not None
                with session_scope(runtime().engine) as writing:
                    note_key_use(session=writing, key_id=key.id, at=key.last_used_at)
                set_committed_value(key, "last_used_at", key.last_used_at)
            session.commit()
        elif touched:
            session.commit()
        return None

    return _register(bp, rule, methods, access, guard)


def token_covers(*, uploader_id: str, repo_id: str, repo_type: str | None = None) -> None:
    """With an upload token, refuse (403) what is not for its uploader and repo; with a key, pass."""
    token = g.get("upload_token")
    if token is not None:
        require_token_covers(token, uploader_id=uploader_id, repo_id=repo_id, repo_type=repo_type)


def staff_route(bp, rule: str, *, roles: Iterable[str], methods: Iterable[str] = ("GET",)):
    """A console route for signed-in staff with one of `roles`."""
    role_set = frozenset(str(r) for r in roles)
    access = Access("staff", roles=role_set)

    def guard():
        if not current_user.is_authenticated:
            if request.method == "GET":
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            raise AuthenticationRequired("sign in first")
        if current_user.role not in role_set:
            raise PermissionDenied("your role does not allow this page")
        g.user = current_user._get_current_object()
        g.actor = current_user.actor
        return None

    return _register(bp, rule, methods, access, guard)


def portal_route(bp, rule: str, *, methods: Iterable[str] = ("GET",), purpose: str | None = None):
    """An uploader portal route, entered with a signed expiring token from the platform."""
    access = Access("portal")

    def guard():
        token = request.args.get("token") or request.form.get("token")
        if not token:
            raise AuthenticationRequired(
                "open this page from the link the platform gave you", code="token_missing"
            )
        claims = read_portal_token(runtime(), token)
        if purpose and claims.get("p") not in (purpose, "portal"):
            raise PermissionDenied("this link is for another step")
        g.portal_token = token
        g.portal_claims = claims
        g.uploader_platform_id = claims["u"]
        g.actor = f"uploader:{claims['u']}"
        return None

    return _register(bp, rule, methods, access, guard)


def public_route(bp, rule: str, *, methods: Iterable[str] = ("GET",)):
    """A route anyone may call (public notice form, health checks)."""

    def guard():
        g.actor = "public"
        return None

    return _register(bp, rule, methods, Access("public"), guard)


def json_body(model: type[M]) -> M:
    """Parse and validate the JSON body; clear 400/422 errors for bad input."""
    if not request.is_json:
        raise MalformedRequest("send a JSON body with Content-Type: application/json")
    data = request_json()
    if data is None:
        raise MalformedRequest("the request body is not valid JSON")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            validation_message(exc),
            details={
                "fields": [
                    {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                    for e in exc.errors()
                ]
            },
        ) from exc


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
