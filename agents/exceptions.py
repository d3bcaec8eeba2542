from chat_project.errors import DomainError, ErrorCode


class AgentUnavailable(DomainError):
    code = ErrorCode.AGENT_UNAVAILABLE
    http_status = 409
    default_message = "That agent is not available (offline, away or not accepting chats)."


class NoCapacity(DomainError):
    code = ErrorCode.NO_CAPACITY
    http_status = 409
    default_message = "That agent has no free chat slot."
