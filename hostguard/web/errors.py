"""How domain errors become HTTP statuses, for the JSON error handler and the pages."""

from __future__ import annotations

from hostguard.errors import (
    AuthenticationRequired,
    Conflict,
    HostguardError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
    Unavailable,
)
from hostguard.web.access import MalformedRequest

STATUS = [  # most specific first
    (MalformedRequest, 400),
    (AuthenticationRequired, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (InvalidInput, 422),
    (Unavailable, 503),
    (HostguardError, 400),
]


def status_for(exc: HostguardError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))
