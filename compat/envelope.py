"""The reference backend's envelope: every answer of the edge, errors included, is
``{"success", "message", "data", "statusCode"}``; an error adds the product's stable
``code`` (and ``details``) beside them.

Errors are the product's: its exception handler (``chat_project.api``) decides the code
and the status, this module only re-wraps its body, with ``message`` always a plain
string (the reference frontend renders it as text)."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response

from chat_project import api

logger = logging.getLogger(__name__)


def ok(data: Any, *, message: str = "OK", status: int = 200) -> Response:
    return Response(
        {"success": True, "message": message, "data": data, "statusCode": status}, status=status
    )


def error(code: str, message: str, *, status: int, details: Any = None) -> Response:
    body = {
        "success": False,
        "message": message,
        "data": None,
        "statusCode": status,
        "code": code,
        "details": details or {},
    }
    return Response(body, status=status)


def _message(error_body: dict[str, Any]) -> str:
    """One sentence for the reader: a field's first problem when the request was invalid
    (``email: Enter a valid email address.``), else the product's message."""
    fields = (error_body.get("details") or {}).get("fields")
    if isinstance(fields, dict) and fields:
        name, problems = next(iter(fields.items()))
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):  # nested serializer errors
            first = next(iter(first.values()), "")
        if isinstance(first, list):
            first = first[0] if first else ""
        return f"{name}: {first}" if name != "non_field_errors" else str(first)
    return str(error_body.get("message") or "The request failed.")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The product's answer to ``exc``, in the envelope."""
    answer = api.exception_handler(exc, context)
    if answer is None:  # a bug: logged, answered 500 in the envelope
        logger.exception("compat request failed", exc_info=exc)
        return error("server_error", "Internal server error", status=500)
    body = answer.data.get("error") or {}
    wrapped = error(
        str(body.get("code", "server_error")),
        _message(body),
        status=answer.status_code,
        details=body.get("details"),
    )
    for name, value in answer.headers.items():
        if name.lower() in ("retry-after", "www-authenticate"):
            wrapped[name] = value
    return wrapped
