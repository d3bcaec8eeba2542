"""What daphne's transport answers before Django sees a request (issue 18):
``chat_project.patches.daphne_transport`` against a real daphne."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def signed_in(server, login, user) -> dict[str, str]:
    cookie = await login(user)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        token = (await client.get("/api/auth/csrf", headers={"cookie": cookie})).json()
    return {
        "cookie": f"{cookie}; csrftoken={token['csrfToken']}",
        "x-csrftoken": token["csrfToken"],
        "origin": server.http_url,
        "referer": server.http_url + "/",
    }


@pytest.mark.parametrize(
    ("content_type", "body", "suffix", "status", "code"),
    [
        ("multipart/form-data", b"xx", "attachments", 400, "validation_error"),
        ("multipart/form-data; boundary=x", b'{"a": 1}', "attachments", 400, "validation_error"),
        ("multipart/form-data; boundary=x", b'{"a": 1}', "messages", 415, "unsupported_media_type"),
        ("multipart/form-data", b"xx", "messages", 415, "unsupported_media_type"),
    ],
)
async def test_malformed_multipart_gets_the_error_envelope(
    server, login, make_room, customer, agent, content_type, body, suffix, status, code
):
    """Issue 18: a multipart body without a boundary (or JSON sent as
    ``multipart/form-data; boundary=x``) was a 400 with an empty body: Twisted parsed
    the form itself and answered before Django did."""
    room = await make_room(customer, agent)
    headers = await signed_in(server, login, customer)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post(
            f"/api/chat/rooms/{room}/{suffix}",
            content=body,
            headers={**headers, "content-type": content_type},
        )
    assert response.status_code == status, response.content
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


async def test_a_real_upload_still_works(server, login, make_room, customer, agent, tmp_path):
    room = await make_room(customer, agent)
    headers = await signed_in(server, login, customer)
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        response = await client.post(
            f"/api/chat/rooms/{room}/attachments",
            files={"file": ("shot.png", PNG, "image/png")},
            headers=headers,
        )
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"


@pytest.mark.parametrize(
    ("frame", "text", "code"),
    [
        ("x" * (200 * 1024), True, 1009),  # over WS_TRANSPORT_MAX_BYTES (128 KB)
        (b"\xff" * 300 * 1024, False, 1009),  # binary, over the cap too
        (b'{"event": "\xff"}', True, 1007),  # invalid UTF-8 in a text frame
    ],
)
async def test_transport_failures_close_with_a_code(server, ws, customer, frame, text, code):
    """Issue 18: Autobahn dropped the TCP connection on these (the client saw 1006,
    closed without a reason); it now sends the RFC 6455 close frame first."""
    alice = await ws(server, customer, name="alice")
    await alice.ws.send(frame, text=text)
    assert await alice.wait_closed() == code
    assert server.tracebacks() == []
