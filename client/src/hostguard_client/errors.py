"""Exceptions the client raises: one per kind of API answer, each carrying the API's error code."""

from __future__ import annotations

from typing import Any


class HostguardError(Exception):
    """Anything the client could not do; the message says what, in words."""


class ConnectionFailed(HostguardError):
    """hostguard could not be reached (or stopped answering), after the retries the client makes."""


class ApiError(HostguardError):
    """hostguard answered with an error: `{"error": {"code", "message"}}` and the HTTP status.

    `code` is the API's machine-readable code (`invalid_input`, `uploader_not_found`, ...);
    `message` is the API's sentence for a person.
    """

    status_code: int
    code: str
    message: str
    body: Any

    def __init__(self, status_code: int, code: str, message: str, body: Any = None):
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.body = body


class BadRequest(ApiError):
    """400: the request could not be read (malformed JSON, a missing multipart part)."""


class AuthenticationRequired(ApiError):
    """401: no API key, or one hostguard does not know (revoked, mistyped)."""


class PermissionDenied(ApiError):
    """403: the key's scope or its user's role does not allow this."""


class NotFound(ApiError):
    """404: no such uploader, check, case, ..."""


class Conflict(ApiError):
    """409: the request conflicts with the current state (an outdated statement version, ...)."""


class PayloadTooLarge(ApiError):
    """413: a file or the request is larger than hostguard accepts."""


class ValidationFailed(ApiError):
    """422: the request was read but a value is not acceptable; the message names it."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` is the server's Retry-After in seconds, if it gave one."""

    retry_after: float | None = None


class ServiceUnavailable(ApiError):
    """503: hostguard (or something it needs) is not available now; try again later."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx other than 503: a fault in hostguard, worth reporting to its operator."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationRequired,
    403: PermissionDenied,
    404: NotFound,
    405: BadRequest,
    409: Conflict,
    413: PayloadTooLarge,
    414: BadRequest,
    422: ValidationFailed,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(status_code: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer, from the API's error shape (or a plain text body)."""
    code, message = f"http_{status_code}", f"hostguard answered {status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
    elif isinstance(body, str) and body.strip() and not body.lstrip().startswith("<"):
        message = body.strip()[:300]  # a proxy's plain-text answer; an HTML page says nothing
    cls = _BY_STATUS.get(status_code, ServerError if status_code >= 500 else ApiError)
    exc = cls(status_code, code, message, body)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        exc.retry_after = retry_after
    return exc
