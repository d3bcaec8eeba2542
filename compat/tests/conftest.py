from __future__ import annotations

import pytest

SPA = "http://127.0.0.1:3001"


@pytest.fixture(autouse=True)
def _compat_on(settings):
    """The edge is off unless enabled: these tests enable it, with the reference
    frontend's development origin allowed (as ``./run.sh`` does)."""
    settings.COMPAT_ENABLED = True
    settings.COMPAT_ALLOWED_ORIGINS = [SPA]
    settings.CORS_ALLOWED_ORIGINS = [SPA]


class Ref:
    """The reference frontend's REST client: JSON, ``x-session-id``, no cookie, no CSRF
    token (the edge must not need one)."""

    def __init__(self) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient(enforce_csrf_checks=True)
        self.session_id: str | None = None

    def _headers(self, extra: dict) -> dict:
        headers = {"HTTP_ORIGIN": SPA, **extra}
        if self.session_id:
            headers["HTTP_X_SESSION_ID"] = self.session_id
        return headers

    def call(self, method: str, path: str, data=None, **extra):
        self.client.cookies.clear()  # the reference client sends no cookie
        send = getattr(self.client, method)
        kwargs = {"format": "json"} if method != "get" else {}
        return send(f"/compat/api{path}", data, **kwargs, **self._headers(extra))

    def get(self, path, data=None, **extra):
        return self.call("get", path, data, **extra)

    def post(self, path, data=None, **extra):
        return self.call("post", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self.call("put", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self.call("delete", path, data, **extra)

    def login(self, identifier: str, password: str = "chat-demo-2026") -> dict:
        answer = self.post("/auth/login", {"email": identifier, "password": password})
        assert answer.status_code == 200, answer.content
        self.session_id = answer.json()["data"]["sessionId"]
        return answer.json()["data"]


@pytest.fixture
def ref(db):
    return Ref


def body(response) -> dict:
    data = response.json()
    assert set(data) >= {"success", "message", "data", "statusCode"}, data
    assert isinstance(data["message"], str), data
    assert data["message"], data
    assert data["statusCode"] == response.status_code
    return data
