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
