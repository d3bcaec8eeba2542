"""Who is asking, the reference's way, on the product's own Django sessions: the session
key travels as ``x-session-id`` (or ``sessionId`` in a JSON body, as the reference's
logout and validate-session send it), never in a cookie.

A request signed in this way carries no ambient credential (a browser never adds the
header by itself), so it needs no CSRF token; the session is the product's, read with
Django's own checks (the auth backend, an active account, the password-bound session
hash), so logout, deactivation and a password change end it here too."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from rest_framework import authentication, exceptions

HEADER = "HTTP_X_SESSION_ID"
MAX_KEY_LENGTH = 64


def session_key_of(request: Any) -> str | None:
    """The session key a request names, from the header or the JSON body."""
    key = request.META.get(HEADER)
    if not key:
        data = getattr(request, "data", None)
        key = data.get("sessionId") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


def user_of_session(session_key: str) -> Any | None:
    """The active user signed in with ``session_key``, or None."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # reads request.session only
    return user if user.is_authenticated and user.is_active else None


class SessionIdAuthentication(authentication.BaseAuthentication):
    """DRF authentication by the session key (``request.auth`` is the key)."""

    def authenticate(self, request: Any) -> tuple[Any, str] | None:
        key = session_key_of(request)
        if key is None:
            return None  # anonymous: the permission decides (401 where one is needed)
        user = user_of_session(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or expired session")
        return user, key

    def authenticate_header(self, request: Any) -> str:
        return 'Session realm="compat"'
