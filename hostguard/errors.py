"""Domain exceptions; only the web and CLI shells turn them into status codes and exit codes."""

from __future__ import annotations


class HostguardError(Exception):
    """Base of every error a user can act on; `code` is stable, `message` is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(HostguardError):
    code = "invalid_input"


class NotFound(HostguardError):
    code = "not_found"


class Conflict(HostguardError):
    code = "conflict"


class PermissionDenied(HostguardError):
    code = "forbidden"


class AuthenticationRequired(HostguardError):
    code = "unauthenticated"


class TooLarge(HostguardError):
    code = "too_large"


class Unavailable(HostguardError):
    code = "unavailable"


def safe_error_text(exc: BaseException) -> str:
    """A description of `exc` fit for logs and stored error fields.

    Database errors are reduced to their class and SQLSTATE: PostgreSQL puts the failing
    row (personal data, list hashes) into its messages, and those must never be logged.
    """
    from sqlalchemy.exc import DBAPIError, StatementError

    if isinstance(exc, DBAPIError):
        orig = exc.orig
        return f"database error {type(orig).__name__} (sqlstate {getattr(orig, 'sqlstate', None) or 'n/a'})"
    if isinstance(exc, StatementError):
        return f"database statement error {type(exc.orig).__name__ if exc.orig else ''}".strip()
    return f"{type(exc).__name__}: {exc}"
