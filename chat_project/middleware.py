"""Project middleware.

``ContentSecurityPolicyMiddleware``: the admin's and the API docs' policy
(``chat_project.csp``) on their responses that carry none.

``ApiJsonErrorsMiddleware`` (outermost in ``MIDDLEWARE``): everything under ``/api/``
answers errors with the contract's envelope whatever ``DEBUG`` is (issue 18).

DRF's views already do; what does not pass through them is Django's own: an unresolved
URL (a malformed id does not match the ``oid`` converter), a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``, an exception outside a view. With ``DEBUG`` on
(``./run.sh``) Django answers those with its HTML debug pages, which an API client
cannot read; with it off, our ``handler*`` views give the envelope already. The debug
pages stay for everything outside ``/api/`` (the admin).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from chat_project import csp
from chat_project.errors import ErrorCode

API_PREFIX = "/api/"

_STATUS_CODES: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.VALIDATION_ERROR, "Bad request."),
    401: (ErrorCode.NOT_AUTHENTICATED, "Sign in first."),
    403: (ErrorCode.PERMISSION_DENIED, "Forbidden."),
    404: (ErrorCode.NOT_FOUND, "Not found."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed."),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type."),
    429: (ErrorCode.RATE_LIMITED, "Too many requests; slow down."),
    503: (ErrorCode.SERVICE_UNAVAILABLE, "A backing service is unavailable."),
}


def error_envelope_for_status(status: int) -> JsonResponse:
    """The envelope for a bare HTTP status (no domain error to say more)."""
    from chat_project.api import error_body  # api imports DRF, which reads settings

    if status in _STATUS_CODES:
        code, message = _STATUS_CODES[status]
    elif status >= 500:
        code, message = ErrorCode.SERVER_ERROR, "Internal error; it has been logged."
    else:
        code, message = ErrorCode.VALIDATION_ERROR, "Bad request."
    return JsonResponse(error_body(code, message), status=status)


def is_api_error_needing_envelope(path: str, response: HttpResponseBase) -> bool:
    if not path.startswith(API_PREFIX) or response.status_code < 400:
        return False
    return not response.get("Content-Type", "").startswith("application/json")


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not is_api_error_needing_envelope(request.path_info, response):
            return response
        replacement = error_envelope_for_status(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement


def with_envelope(path: str, response: HttpResponse) -> HttpResponse:
    """For responses made before any middleware runs (the ASGI handler's own 400 and
    413 while building the request)."""
    if is_api_error_needing_envelope(path, response):
        return error_envelope_for_status(response.status_code)
    return response


class ContentSecurityPolicyMiddleware:
    """Issue 28, item 8: ``/admin/`` and ``/api/docs/`` were served without a
    Content-Security-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = csp.policy_for(request.path_info)
        if policy is not None and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
