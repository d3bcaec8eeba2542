"""The REST edge: the one exception handler that gives every error the contract's shape
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from chat_project import metrics
from chat_project.authentication import CsrfFailed
from chat_project.errors import DomainError, ErrorCode

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    # Every REST error answer is made here: counted once.
    metrics.errors.labels(str(code), "http").inc()
    return {"error": {"code": str(code), "message": str(message), "details": details or {}}}


_DRF_CODES: list[tuple[type[exceptions.APIException], ErrorCode]] = [
    (CsrfFailed, ErrorCode.CSRF_FAILED),
    (exceptions.ParseError, ErrorCode.VALIDATION_ERROR),
    (exceptions.ValidationError, ErrorCode.VALIDATION_ERROR),
    (exceptions.NotAuthenticated, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, ErrorCode.NOT_AUTHENTICATED),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, ErrorCode.RATE_LIMITED),
]


def _drf_error(exc: exceptions.APIException) -> tuple[str, str, Any]:
    code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), None)
    if isinstance(exc, exceptions.ValidationError):
        return ErrorCode.VALIDATION_ERROR, "The request is invalid.", {"fields": exc.detail}
    if isinstance(exc, exceptions.ParseError):
        return ErrorCode.VALIDATION_ERROR, f"Malformed request body: {exc.detail}", {}
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return (code or exc.default_code), detail, {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return Response(
            error_body(exc.code, exc.message, exc.details), status=exc.http_status, headers=headers
        )
    if isinstance(exc, RequestDataTooBig):
        # Django's 400 (an HTML debug page with DEBUG on) for a body over
        # DATA_UPLOAD_MAX_MEMORY_SIZE; it is a 413 in the contract's shape (issue 18).
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            error_body(
                ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large.", {"max_bytes": limit}
            ),
            status=413,
        )
    if isinstance(exc, (SuspiciousOperation, MultiPartParserError)):
        # Too many fields, a malformed multipart body read outside DRF's parser, ...
        exc = exceptions.ParseError(str(exc) or "Bad request.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django logs it and handler500 answers in the same shape
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code, message, details = _drf_error(exc)
    set_rollback()
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


class QuerySerializer(serializers.Serializer):
    """Query parameters. One given empty (``?status=``) is refused like any invalid
    value: DRF takes it for an absent parameter, while the schema says that a parameter
    that is given has a value (issue 18: Schemathesis found ``?status=`` accepted)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):
            blank = {name: ["May not be empty."] for name in self.fields if data.get(name) == ""}
            if blank:
                raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF failures caught by Django's middleware (outside DRF), e.g. the admin."""
    return JsonResponse(error_body(ErrorCode.CSRF_FAILED, f"CSRF Failed: {reason}"), status=403)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(ErrorCode.NOT_FOUND, "Not found."), status=status.HTTP_404_NOT_FOUND
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body(ErrorCode.SERVER_ERROR, "Internal error; it has been logged."), status=500
    )


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(ErrorCode.VALIDATION_ERROR, "Bad request."), status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None):
    return JsonResponse(error_body(ErrorCode.PERMISSION_DENIED, "Forbidden."), status=403)
