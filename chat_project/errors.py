"""The one list of stable error codes, and the domain error that carries them.

Domain errors know nothing of HTTP or WebSocket framing; the edges (``api.py`` for
REST, ``ws.py`` for sockets) turn them into the wire shapes of the contract. Codes
are added, never renamed: clients match on them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    VALIDATION_ERROR = "validation_error"
    RATE_LIMITED = "rate_limited"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_EVENT = "unknown_event"
    BAD_JSON = "bad_json"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    ROOM_CLOSED = "room_closed"
    AGENT_UNAVAILABLE = "agent_unavailable"
    NO_CAPACITY = "no_capacity"
    RESYNC_REQUIRED = "resync_required"
    CONFLICT = "conflict"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INVALID_CREDENTIALS = "invalid_credentials"
    ALREADY_RATED = "already_rated"
    RATING_UNAVAILABLE = "rating_unavailable"
    SERVER_ERROR = "server_error"


class DomainError(Exception):
    """A failure the caller can act on. Subclasses fix ``code`` and ``http_status``."""

    code: ErrorCode = ErrorCode.VALIDATION_ERROR
    http_status: int = 400
    default_message: str = "The request is invalid."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    http_status = 400


class NotAuthenticated(DomainError):
    code = ErrorCode.NOT_AUTHENTICATED
    http_status = 401
    default_message = "Sign in first."


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED
    http_status = 403
    default_message = "You may not do that."


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    http_status = 404
    default_message = "Not found."


class Conflict(DomainError):
    code = ErrorCode.CONFLICT
    http_status = 409
    default_message = "The resource changed; reload and try again."


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED
    http_status = 429
    default_message = "Too many requests; slow down."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(
            message,
            details={**(details or {}), **({"retry_after": retry_after} if retry_after else {})},
        )
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    http_status = 503
    default_message = "A backing service is unavailable; try again shortly."
