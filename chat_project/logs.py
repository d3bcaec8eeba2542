"""Logs: plain text by default, one JSON object per line with ``LOG_FORMAT=json``
(issue 17), each with the request id of the HTTP request or socket handshake it belongs
to and the socket's id, from context variables that follow the work into tasks and
thread hops (asyncio and asgiref copy the context).

The request id is the proxy's ``X-Request-ID`` (``deploy/haproxy.cfg`` sets one on every
request) when it looks like one, else one made here; the socket id is the socket's
``conn_id`` (presence leases carry it too).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
socket_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("socket_id", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin1")
            if _REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Puts ``request_id`` and ``socket_id`` on every record (text formats may use them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.socket_id = socket_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in ("request_id", "socket_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """``settings.LOGGING`` for ``LOG_FORMAT`` ``text`` or ``json``."""
    formatter = (
        {"()": "chat_project.logs.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "chat_project.logs.ContextFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.request": {"level": "ERROR"}},
    }
