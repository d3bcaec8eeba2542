"""Fixtures shared by every app's tests (loaded as a plugin from pyproject's addopts).

Model imports happen inside fixtures: this module loads before Django is set up.
"""

from __future__ import annotations

import pytest

DEMO_PASSWORD = "chat-demo-2026"


@pytest.fixture(autouse=True)
def _fresh_redis():
    """Throttle counters, presence and cached pages must not leak between tests."""
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()
    return


@pytest.fixture
def password() -> str:
    return DEMO_PASSWORD


@pytest.fixture
def make_user(db):
    from accounts.tests.factories import UserFactory

    def make(**kwargs):
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def customer(make_user):
    return make_user(username="alice", role="user")


@pytest.fixture
def other_customer(make_user):
    return make_user(username="bob", role="user")


@pytest.fixture
def agent(make_user):
    return make_user(username="agent1", role="agent")


@pytest.fixture
def other_agent(make_user):
    return make_user(username="agent2", role="agent")


@pytest.fixture
def support_admin(make_user):
    return make_user(username="admin", role="admin")


class CsrfApiClient:
    """An APIClient that enforces CSRF like a browser and sends the token back like
    the contract's clients do (``X-CSRFToken`` from the ``csrftoken`` cookie)."""

    def __init__(self):
        from rest_framework.test import APIClient

        self.client = APIClient(enforce_csrf_checks=True)

    def _token(self) -> str:
        cookie = self.client.cookies.get("csrftoken")
        if cookie is None or not cookie.value:
            self.client.get("/api/auth/csrf")
            cookie = self.client.cookies["csrftoken"]
        return cookie.value

    def get(self, path, data=None, **extra):
        return self.client.get(path, data, **extra)

    def _unsafe(self, method, path, data=None, *, csrf=True, fmt="json", **extra):
        if csrf:
            extra["HTTP_X_CSRFTOKEN"] = self._token()
        return getattr(self.client, method)(path, data, format=fmt, **extra)

    def post(self, path, data=None, **kwargs):
        return self._unsafe("post", path, data, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self._unsafe("put", path, data, **kwargs)

    def patch(self, path, data=None, **kwargs):
        return self._unsafe("patch", path, data, **kwargs)

    def delete(self, path, data=None, **kwargs):
        return self._unsafe("delete", path, data, **kwargs)

    def login(self, username: str, password: str = DEMO_PASSWORD):
        response = self.post("/api/auth/login", {"username": username, "password": password})
        assert response.status_code == 200, response.content
        return response

    def force_login(self, user):
        self.client.force_login(user)


@pytest.fixture
def api(db) -> CsrfApiClient:
    return CsrfApiClient()


@pytest.fixture
def api_factory(db):
    return CsrfApiClient
