"""chat_project.origins: a socket's Origin matches scheme, host and port (issue 28,
item 3), through the whole ASGI stack and unit by unit."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ImproperlyConfigured

from chat_project.origins import AllowedOrigins, Origin, origin_allowed, parse_origin

pytestmark = pytest.mark.django_db(transaction=True)


def scope(origin: str | None, host: str | None = "127.0.0.1:8000", **extra) -> dict:
    headers = [(b"host", host.encode())] if host else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": "ws", "headers": headers, **extra}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("http://127.0.0.1:8000", Origin("http", "127.0.0.1", 8000)),
        ("HTTPS://Chat.Example.com", Origin("https", "chat.example.com", 443)),
        ("http://localhost", Origin("http", "localhost", 80)),
        ("http://[::1]:3001", Origin("http", "::1", 3001)),
        ("null", None),
        ("chat.example.com", None),
        ("ftp://example.com", None),
        ("http://example.com/path", None),
        ("http://user@example.com", None),
        ("http://example.com:99999", None),
    ],
)
def test_parse_origin(value, parsed):
    assert parse_origin(value) == parsed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8000", True),  # the served origin
        ("http://127.0.0.1:9999", False),  # issue 28: another port of the same host
        ("https://127.0.0.1:8000", False),  # issue 28: another scheme
        ("http://127.0.0.1", False),
        ("http://evil.example", False),
        ("null", False),
        (None, False),  # no Origin at all
    ],
)
def test_only_the_served_origin_by_default(settings, origin, allowed):
    """Issue 28: with a valid session, ``Origin: http://127.0.0.1:9999`` and
    ``https://127.0.0.1:<port>`` were accepted (Channels' OriginValidator matched the
    host only)."""
    assert origin_allowed(scope(origin), AllowedOrigins([])) is allowed


def test_the_served_host_must_be_an_allowed_host(settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    assert origin_allowed(scope("http://chat.example.com", "chat.example.com"), AllowedOrigins([]))
    rebound = scope("http://evil.example:8000", "evil.example:8000")  # DNS rebinding
    assert not origin_allowed(rebound, AllowedOrigins([]))


def test_the_served_scheme_is_https_over_tls_or_through_a_trusted_proxy(settings):
    assert origin_allowed(scope("https://127.0.0.1:8000", scheme="wss"), AllowedOrigins([]))
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    behind = scope("https://chat.example.com", "chat.example.com")
    behind["headers"].append((b"x-forwarded-proto", b"https"))
    assert not origin_allowed(behind, AllowedOrigins([]))  # no trusted proxy configured
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(behind, AllowedOrigins([]))


def test_listed_origins_exact_and_subdomains():
    allowed = AllowedOrigins(["http://localhost:3001", "https://*.example.com"])
    for origin, ok in [
        ("http://localhost:3001", True),
        ("http://localhost:3002", False),
        ("https://localhost:3001", False),
        ("https://example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com:8443", False),
        ("http://a.example.com", False),
        ("https://badexample.com", False),
    ]:
        assert origin_allowed(scope(origin), allowed) is ok, origin


def test_star_allows_any_origin_and_none():
    assert origin_allowed(scope(None), AllowedOrigins(["*"]))
    assert origin_allowed(scope("http://anything:1"), AllowedOrigins(["*"]))


@pytest.mark.parametrize("entry", ["chat.example.com", "localhost:3001", "ws://x", "https://"])
def test_an_entry_that_is_not_an_origin_is_refused_at_start(entry):
    """A bare host used to match that host on any scheme and port; now it is an error."""
    with pytest.raises(ImproperlyConfigured, match="not an origin"):
        AllowedOrigins([entry])


def test_the_configured_list_is_ws_allowed_and_csrf_trusted_origins(settings):
    from chat_project.origins import configured_origins

    settings.WS_ALLOWED_ORIGINS = ["http://localhost:3001"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    assert configured_origins() == ["http://localhost:3001", "https://chat.example.com"]


def _cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.parametrize("path", ["/ws/chat/", "/socket.io/?EIO=4&transport=websocket"])
async def test_the_whole_stack_with_a_session(customer, path):
    from chat_project.asgi import application

    cookie = (b"cookie", await sync_to_async(_cookie)(customer))
    host = (b"host", b"127.0.0.1:8000")
    for origin, accepted in [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:9999", False),
        (b"https://127.0.0.1:8000", False),
    ]:
        comm = WebsocketCommunicator(application, path, headers=[host, (b"origin", origin), cookie])
        connected, _ = await comm.connect()
        assert connected is accepted, origin
        await comm.disconnect()


def test_manage_py_check_names_an_entry_that_is_not_an_origin(settings):
    from chat_project.checks import allowed_origins_are_origins

    assert allowed_origins_are_origins() == []
    settings.WS_ALLOWED_ORIGINS = ["chat.example.com"]
    [error] = allowed_origins_are_origins()
    assert error.id == "chat_project.E001"
