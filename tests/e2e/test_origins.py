"""Issue 28, item 3, on a real daphne: with a valid session cookie, a socket from a page
of another port or another scheme of the same host is refused at the upgrade (HTTP 403),
on ``/ws/chat/`` and on ``/socket.io/``; a page of the served origin connects."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def foreign_origins(server) -> list[str]:
    return ["http://127.0.0.1:9999", f"https://127.0.0.1:{server.port}"]


async def test_ws_chat_matches_scheme_host_and_port(server, ws, customer):
    for origin in foreign_origins(server):
        with pytest.raises(InvalidStatus) as refused:
            await ws(server, customer, origin=origin)
        assert refused.value.response.status_code == 403, origin
    served = await ws(server, customer, origin=f"http://127.0.0.1:{server.port}")
    await served.call("get-online-agents")


async def test_socketio_matches_scheme_host_and_port(server, sio, customer):
    for origin in foreign_origins(server):
        client = await sio(server, customer, name=f"from {origin}", origin=origin)
        assert (await client.connect_error())["message"] == "websocket error", origin  # 403
    served = await sio(server, customer, origin=f"http://127.0.0.1:{server.port}")
    await served.connected()
