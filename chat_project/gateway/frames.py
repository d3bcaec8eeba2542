"""What the socket base (``chat_project.gateway.consumer``) checks of each client frame: the error
codes of the transport level, the fields of an event's ``data``, and the per-connection
token bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chat_project.errors import DomainError, ErrorCode, ValidationFailed
from chat_project.wire import MAX_INT


class BadJson(DomainError):
    code = ErrorCode.BAD_JSON
    default_message = "The frame is not valid JSON text."


class UnknownEvent(DomainError):
    code = ErrorCode.UNKNOWN_EVENT
    default_message = "Unknown event."


class FrameTooLarge(DomainError):
    code = ErrorCode.FRAME_TOO_LARGE
    http_status = 413
    default_message = "The frame is too large."


class ServerError(DomainError):
    code = ErrorCode.SERVER_ERROR
    http_status = 500
    default_message = "Something went wrong on our side; try again."


# --- Field validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of an event's ``data``. ``kind``: str, int, bool, str_list, seq_map."""

    kind: str
    required: bool = True
    max_length: int = 200  # characters for str, items for str_list / seq_map
    min_value: int = 0  # int only
    allow_blank: bool = False  # str only


def _clean_str(value: Any, spec: Field) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if len(value) > spec.max_length:
        raise ValueError(f"At most {spec.max_length} characters.")
    if not spec.allow_blank and not value.strip():
        raise ValueError("May not be blank.")
    try:  # JSON's \ud800 escapes give lone surrogates that no store can encode
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Must be valid Unicode text.") from None
    return value


def _clean_int(value: Any, spec: Field) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Must be an integer.")
    if not spec.min_value <= value <= MAX_INT:
        raise ValueError(f"Must be between {spec.min_value} and {MAX_INT}.")
    return value


def _clean_value(value: Any, spec: Field) -> Any:
    if spec.kind == "str":
        return _clean_str(value, spec)
    if spec.kind == "int":
        return _clean_int(value, spec)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    item = Field("str", max_length=100)
    if spec.kind == "str_list":
        if not isinstance(value, list) or len(value) > spec.max_length:
            raise ValueError(f"Must be a list of at most {spec.max_length} strings.")
        return [_clean_str(v, item) for v in value]
    if spec.kind == "seq_map":  # {"<id>": <seq>}
        if not isinstance(value, dict) or len(value) > spec.max_length:
            raise ValueError(f"Must be an object of at most {spec.max_length} entries.")
        seq = Field("int")
        return {_clean_str(k, item): _clean_int(v, seq) for k, v in value.items()}
    raise AssertionError(f"unknown field kind {spec.kind}")


def clean_data(fields: Mapping[str, Field], data: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``data`` against ``fields``; unknown keys are ignored (forward compatible).
    Raises ``validation_error`` with ``details.fields`` like the REST API."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, spec in fields.items():
        value = data.get(name)
        if value is None:
            if spec.required:
                errors[name] = ["This field is required."]
            continue
        try:
            clean[name] = _clean_value(value, spec)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationFailed(details={"fields": errors})
    return clean


# --- Token bucket --------------------------------------------------------------------------


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; one token per frame."""

    __slots__ = ("burst", "rate", "stamp", "tokens")  # one per socket

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self, cost: int = 1) -> bool:
        """Take ``cost`` tokens (0: a frame that adds no work, always allowed)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def retry_after(self) -> float:
        return max(0.0, (1 - self.tokens) / self.rate) if self.rate > 0 else math.inf
