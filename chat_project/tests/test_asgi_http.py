"""HTTP through the whole ASGI stack (``chat_project.asgi.application``) on the pooled
request threads of ``chat_project.patches.asgi_http``: the sync middleware chain keeps
sessions, CSRF and DRF's error shapes; every step of a request runs on one pooled
thread; no thread is started per request; a request finding every thread busy waits
its turn."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.core.signals import request_started
from django.test import Client

from accounts.tests.factories import UserFactory
from chat_project.asgi import application
from chat_project.patches.asgi_http import PooledThreadASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _call(app, method: str, path: str, *, headers=(), body: bytes = b"") -> tuple[int, dict]:
    headers = [(b"host", b"testserver"), *headers]
    communicator = HttpCommunicator(app, method, path, body=body, headers=headers)
    response = await communicator.get_response(timeout=10)
    return response["status"], json.loads(response["body"] or b"{}")


async def test_signed_in_get_answers_and_anonymous_gets_the_contract_401():
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(_session_cookie)(user)

    signed_in = [(b"cookie", cookie)]
    status, body = await _call(application, "GET", "/api/auth/profile", headers=signed_in)
    assert status == 200
    assert body["username"] == user.username

    status, body = await _call(application, "GET", "/api/auth/profile")
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


async def test_csrf_is_still_enforced_on_unsafe_methods():
    user = await sync_to_async(UserFactory)()
    cookie = await sync_to_async(_session_cookie)(user)

    status, body = await _call(
        application,
        "POST",
        "/api/chat/rooms",
        headers=[(b"cookie", cookie), (b"content-type", b"application/json")],
        body=b'{"subject": "hi"}',
    )

    assert status == 403
    assert body["error"]["code"] == "csrf_failed"


async def test_each_request_runs_on_one_pooled_thread_and_starts_none():
    handler = PooledThreadASGIHandler(threads=2)
    seen: list[str] = []

    def record_thread(**kwargs) -> None:
        seen.append(threading.current_thread().name)

    request_started.connect(record_thread)
    try:
        await _call(handler, "GET", "/api/health")  # the pool's threads exist from here on
        threads_before = threading.active_count()
        for _ in range(10):
            status, _body = await _call(handler, "GET", "/api/health")
            assert status == 200
        assert threading.active_count() == threads_before
    finally:
        request_started.disconnect(record_thread)
    assert seen
    assert all(name.startswith("http-") for name in seen)


async def test_requests_beyond_the_pool_wait_their_turn():
    handler = PooledThreadASGIHandler(threads=1)

    results = await asyncio.gather(*(_call(handler, "GET", "/api/health") for _ in range(5)))

    assert [status for status, _ in results] == [200] * 5


async def test_a_request_django_cannot_build_gets_the_envelope_under_api():
    """Issue 18: Django answers a query string that is not UTF-8 while building the
    request, before any middleware: an empty 400 that is now the contract's envelope."""
    communicator = HttpCommunicator(
        application, "GET", "/api/chat/rooms", headers=[(b"host", b"testserver")]
    )
    communicator.scope["query_string"] = b"status=\xff"
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 400
    assert json.loads(response["body"])["error"]["code"] == "validation_error"
