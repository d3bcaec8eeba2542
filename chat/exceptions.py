"""The chat app's domain errors. They know no HTTP framing beyond their status; the
REST handler (``chat_project.api``) and the gateway (``chat_project.gateway.consumer``)
render them."""

from chat_project.errors import DomainError, ErrorCode


class RoomClosed(DomainError):
    code = ErrorCode.ROOM_CLOSED
    http_status = 409
    default_message = "The room is closed."


class IdempotencyConflict(DomainError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT
    http_status = 409
    default_message = "That client_msg_id was already used for a different message."


class ResyncRequired(DomainError):
    code = ErrorCode.RESYNC_REQUIRED
    http_status = 409
    default_message = "The room cannot be replayed from that seq; reload its history."


class PayloadTooLarge(DomainError):
    code = ErrorCode.PAYLOAD_TOO_LARGE
    http_status = 413
    default_message = "The upload is too large."


class UnsupportedMediaType(DomainError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    http_status = 415
    default_message = "That file type is not allowed."


class AlreadyRated(DomainError):
    code = ErrorCode.ALREADY_RATED
    http_status = 409
    default_message = "This chat has been rated already."


class RatingUnavailable(DomainError):
    code = ErrorCode.RATING_UNAVAILABLE
    http_status = 409
    default_message = "This chat cannot be rated now."
