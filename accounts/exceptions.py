from chat_project.errors import DomainError, ErrorCode


class InvalidCredentials(DomainError):
    code = ErrorCode.INVALID_CREDENTIALS
    http_status = 401
    default_message = "Wrong username or password."


class UsernameTaken(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    http_status = 400
    default_message = "That username is taken."
