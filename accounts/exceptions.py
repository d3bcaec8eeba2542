from chat_project.errors import DomainError, ErrorCode


class InvalidCredentials(DomainError):
    code = ErrorCode.INVALID_CREDENTIALS
    http_status = 401
    default_message = "Wrong username, e-mail address or password."


class UsernameTaken(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    http_status = 400
    default_message = "That username is taken."


class EmailTaken(DomainError):
    """Registration or an admin form with an address another account has (whatever its
    case): ``validation_error`` on the ``email`` field, as a taken username is."""

    code = ErrorCode.VALIDATION_ERROR
    http_status = 400
    default_message = "That e-mail address is taken."
