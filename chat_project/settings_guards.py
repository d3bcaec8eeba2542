"""What ``settings.py`` refuses to start with when ``DJANGO_DEBUG`` is off (issue 28,
item 6): a weak secret key, and the tests' MD5 password hasher outside a test run.

Issue 18 refused only a missing key (the public development key) and let
``FAST_PASSWORD_HASHER=1`` allow it; the app still started with ``DJANGO_SECRET_KEY=short``,
with 60 spaces, or with the development key plus a space, where ``check --deploy`` only
warned. Now any key that check would call weak is refused, spaces around it or not, and
nothing re-allows one.
"""

from __future__ import annotations

import os
import sys

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)


def secret_key_weakness(key: str, *, development_key: str) -> str | None:
    """Why ``key`` is weak by ``check --deploy``'s rule (security.W009: fewer than 50
    characters or 5 distinct ones, or the ``django-insecure-`` prefix), applied to the
    key as given and without surrounding whitespace; None for a strong key."""
    if key.strip() == development_key:
        return "it is the public development key"
    for candidate in dict.fromkeys((key, key.strip())):
        if len(candidate) < SECRET_KEY_MIN_LENGTH:
            return f"it has fewer than {SECRET_KEY_MIN_LENGTH} characters"
        if len(set(candidate)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
            return f"it has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
        if candidate.startswith(SECRET_KEY_INSECURE_PREFIX):
            return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r}"
    return None


def in_test_run() -> bool:
    """This process is pytest, or one a test started (pytest sets ``PYTEST_CURRENT_TEST``
    while a test runs, and the servers the tests start inherit it)."""
    return "pytest" in sys.modules or "PYTEST_CURRENT_TEST" in os.environ
