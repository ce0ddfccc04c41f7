"""Creating staff users, checking passwords, issuing and checking API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from hostguard.accounts.flaggers import get_flagger
from hostguard.accounts.models import CASE_WORKERS, ApiKey, Role, Scope, User
from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12
KEY_PREFIX = "hg_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A real hash to verify against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_KEY_BY_DIGEST = select(ApiKey).where(ApiKey.key_hash == bindparam("digest"))  # every API call


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(*, session: Session, email: str, password: str, role: str, actor: str) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"'{email}' is not an e-mail address")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"unknown role '{role}' (roles: {', '.join(r.value for r in Role)})")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        subject=f"user:{user.id}",
        details={"role": role},
    )
    return user


def set_password(
    *, session: Session, user: User, password: str, actor: str, reason: str | None = None
) -> User:
    """Give a user a new password (audited; the password itself is never recorded)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters")
    user.password_hash = hash_password(password)
    session.add(user)
    record(
        session, actor=actor, action="user.password_set", subject=f"user:{user.id}", reason=reason
    )
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (in constant-ish time)."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def _digest(key: str) -> str:
    # API keys carry 256 bits of randomness, so one SHA-256 is enough (as for GitHub tokens);
    # a slow KDF is for guessable secrets like passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    *,
    session: Session,
    name: str,
    scopes: list[str],
    actor: str,
    user_email: str | None = None,
    flagger: str | None = None,
    sandbox: bool = False,
) -> tuple[ApiKey, str]:
    """Issue a key; the plaintext is returned once and only its hash is stored.

    `flagger` (a register entry's name or id) makes it that trusted flagger's key: its notices
    are the flagger's (`hostguard.accounts.flaggers`); it needs the trusted_flagger scope. A
    `sandbox` key (operator scope only) tries the upload check against the sandbox, touching no
    real data.
    """
    valid = {s.value for s in Scope}
    bad = [s for s in scopes if s not in valid]
    if not scopes or bad:
        raise InvalidInput(
            f"unknown scope {', '.join(bad) or '(none given)'} (scopes: {', '.join(sorted(valid))})"
        )
    if not name.strip():
        raise InvalidInput("an API key needs a name")
    user_id = None
    if user_email:
        user = session.exec(select(User).where(User.email == user_email.strip().lower())).first()
        if not user:
            raise NotFound(f"no user with e-mail {user_email}")
        user_id = user.id
    if Scope.MODERATOR in scopes and user_id is None:
        raise InvalidInput("a moderator-scope key must act for a staff user: add --user EMAIL")
    if Scope.MODERATOR in scopes:
        assert user is not None  # user_id, required just above, is only set from a found user
        if user.role not in CASE_WORKERS:
            raise InvalidInput(
                f"a moderator-scope key acts on cases; {user.email} has the role "
                f"{user.role}, which cannot (roles: {', '.join(sorted(CASE_WORKERS))})"
            )
    flagger_id = None
    if flagger is not None:
        if Scope.TRUSTED_FLAGGER not in scopes:
            raise InvalidInput("a trusted flagger's key needs the trusted_flagger scope")
        flagger_id = get_flagger(session, flagger).id
    if sandbox and set(scopes) != {Scope.OPERATOR}:
        raise InvalidInput("a sandbox key has the operator scope only (--scope operator)")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=_digest(plaintext),
        scopes=",".join(sorted(set(scopes))),
        user_id=user_id,
        flagger_id=flagger_id,
        sandbox=sandbox,
    )
    session.add(key)
    session.flush()
    record(
        session,
        actor=actor,
        action="apikey.create",
        subject=f"apikey:{key.id}",
        details={"name": key.name, "scopes": sorted(set(scopes))}
        | ({"flagger": flagger_id} if flagger_id else {}),
    )
    return key, plaintext


def find_api_key(*, session: Session, plaintext: str) -> ApiKey | None:
    """The live key matching this plaintext, or None; touches last_used_at."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    key = session.exec(_KEY_BY_DIGEST, params={"digest": _digest(plaintext)}).first()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    # Touch last_used_at at most once a minute: writing it on every request would make all
    # requests with one key queue behind that row's lock until each commits.
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


def note_key_use(*, session: Session, key_id: int, at: datetime) -> None:
    """Write a key's last use (what find_api_key noted) in `session`, by id.

    For a caller that read the key in a read-only transaction (on SQLite, without the write
    lock) and writes the use in a short transaction of its own."""
    session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=at))


def revoke_api_key(*, session: Session, ident: str, actor: str) -> ApiKey:
    """Revoke by prefix (the 8 hex digits after `hg_` in the key) or by id.

    The argument's meaning never depends on what is in the database: 8 hex digits are always
    a prefix (2.3 % of prefixes are all digits, e.g. `00000002`, and must not be read as id 2);
    `id:N` is always an id; any other number is an id. A prefix shared by several keys is
    refused rather than guessed.
    """
    text = ident.strip().lower()
    keys: Sequence[ApiKey | None]
    if text.startswith("id:"):
        number = text[3:]
        if not number.isdigit():
            raise InvalidInput(f"'{ident}' is not an API key id (id:N, N a number)")
        keys = [session.get(ApiKey, int(number))]
    elif re.fullmatch(r"[0-9a-f]{8}", text):
        matching = list(
            session.exec(select(ApiKey).where(ApiKey.prefix == text).order_by(col(ApiKey.id)))
        )
        if len(matching) > 1:
            ids = ", ".join(f"id:{k.id}" for k in matching)
            raise Conflict(
                f"prefix {text} belongs to {len(matching)} API keys ({ids}): revoke one by id"
            )
        keys = matching
    elif text.isdigit():
        keys = [session.get(ApiKey, int(text))]
    else:
        raise InvalidInput(
            f"'{ident}' is neither an API key prefix (8 hex digits) nor an id (N or id:N)"
        )
    key = keys[0] if keys else None
    if key is None:
        raise NotFound(f"no API key '{ident}'")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record(session, actor=actor, action="apikey.revoke", subject=f"apikey:{key.id}")
    return key


def list_api_keys(*, session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def get_user(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))))


def _staff_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no staff user {user_id}")
    return user


def set_role(*, session: Session, user_id: int, role: str, actor: str) -> User:
    """Give a staff user another role (audited with the old and new role)."""
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"unknown role '{role}' (roles: {', '.join(r.value for r in Role)})")
    user = _staff_user(session, user_id)
    if user.role != role:
        old, user.role = user.role, role
        session.add(user)
        record(
            session,
            actor=actor,
            action="user.role_set",
            subject=f"user:{user.id}",
            reason=f"{old} -> {role}",
        )
    return user


def set_teams(*, session: Session, user_id: int, teams: list[str], actor: str) -> User:
    """Put a staff user in these teams (the policy's queues may be worked by teams); audited."""
    clean = sorted({t.strip() for t in teams if t.strip()})
    bad = [t for t in clean if len(t) > 64 or not t.replace("_", "").replace("-", "").isalnum()]
    if bad:
        raise InvalidInput(
            f"a team name is letters, digits, - and _ (at most 64): not '{bad[0][:64]}'",
            code="invalid_team",
        )
    user = _staff_user(session, user_id)
    if list(user.teams or []) != clean:
        old, user.teams = list(user.teams or []), clean
        session.add(user)
        record(
            session,
            actor=actor,
            action="user.teams_set",
            subject=f"user:{user.id}",
            details={"from": old, "to": clean},
        )
    return user


def set_active(
    *, session: Session, user_id: int, active: bool, actor: str, reason: str | None = None
) -> User:
    """Deactivate a staff user (signed out at the next request; their API keys stop working) or
    reactivate them. An administrator cannot deactivate their own account."""
    user = _staff_user(session, user_id)
    if not active and actor == f"user:{user.id}":
        raise Conflict("you cannot deactivate your own account: ask another administrator")
    if user.active != active:
        user.active = active
        session.add(user)
        record(
            session,
            actor=actor,
            action="user.activate" if active else "user.deactivate",
            subject=f"user:{user.id}",
            reason=reason,
        )
    return user
