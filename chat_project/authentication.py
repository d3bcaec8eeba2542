"""Session authentication for DRF (kept apart from ``api.py``: DRF imports this
class while ``rest_framework.views`` is still loading)."""

from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from chat_project.errors import ErrorCode


class CsrfFailed(exceptions.PermissionDenied):
    default_code = ErrorCode.CSRF_FAILED.value


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session auth, with two changes the contract needs.

    CSRF is checked on every unsafe method, signed in or not: stock DRF skips it for
    anonymous requests, which would leave login and register open to login CSRF.
    ``authenticate_header`` makes DRF answer 401 (not 403) when nobody is signed in.
    """

    def authenticate(self, request):
        if request.method not in SAFE_METHODS:
            self.enforce_csrf(request)
        user = getattr(request._request, "user", None)
        if not user or not user.is_active:
            return None
        return (user, None)

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise CsrfFailed(str(exc.detail)) from None

    def authenticate_header(self, request) -> str:
        return 'Session realm="api"'
