"""The handshake line (issue 29): past WS_MAX_PENDING_HANDSHAKES in progress, a socket
waits in line for a slot instead of being refused; the line and the wait are bounded,
and no slot is lost on any way out of it. Driven through the ASGI interface with an
inner application that holds its handshakes until told (no cookie: no store is read)."""

from __future__ import annotations

import asyncio

from channels.testing import WebsocketCommunicator

from chat_project.gateway.handshake import CLOSE_BUSY, HandshakeMiddleware


class HeldApp:
    """Accepts each socket when its gate opens; records the order it saw them."""

    def __init__(self) -> None:
        self.gates: list[asyncio.Event] = []
        self.seen: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        gate = asyncio.Event()
        self.gates.append(gate)
        self.seen.append(scope["path"])
        await receive()  # websocket.connect
        await gate.wait()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def _socket(app, name: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, f"/{name}/")


async def test_a_handshake_past_the_bound_waits_in_line_and_is_served_in_order(settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 1
    settings.WS_MAX_QUEUED_HANDSHAKES = 10
    settings.WS_HANDSHAKE_WAIT_SECONDS = 5
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    first, second, third = (_socket(middleware, n) for n in ("a", "b", "c"))
    connecting = [asyncio.ensure_future(s.connect(timeout=5)) for s in (first, second, third)]
    await asyncio.sleep(0.2)
    assert inner.seen == ["/a/"]  # b and c wait in line, nothing done for them yet
    assert (middleware.pending, len(middleware.line)) == (1, 2)

    inner.gates[0].set()
    await asyncio.sleep(0.2)
    assert inner.seen == ["/a/", "/b/"]  # a's answer passed its slot to b
    inner.gates[1].set()
    await asyncio.sleep(0.2)
    inner.gates[2].set()
    assert [c[0] for c in await asyncio.gather(*connecting)] == [True, True, True]
    assert inner.seen == ["/a/", "/b/", "/c/"]
    assert (middleware.pending, len(middleware.line)) == (0, 0)
    for s in (first, second, third):
        await s.disconnect()


async def test_a_full_line_refuses_busy_at_once(settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 1
    settings.WS_MAX_QUEUED_HANDSHAKES = 0
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    held, refused = _socket(middleware, "a"), _socket(middleware, "b")
    holding = asyncio.ensure_future(held.connect(timeout=5))
    await asyncio.sleep(0.1)
    connected, _ = await refused.connect(timeout=1)
    assert connected  # accepted so that a browser can read the code
    closed = await refused.receive_output(1)
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_BUSY)
    assert inner.seen == ["/a/"]
    inner.gates[0].set()
    assert (await holding)[0]
    assert middleware.pending == 0
    await held.disconnect()


async def test_a_wait_that_runs_out_is_refused_busy_and_leaves_no_slot_taken(settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 1
    settings.WS_MAX_QUEUED_HANDSHAKES = 10
    settings.WS_HANDSHAKE_WAIT_SECONDS = 0.3
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    held, waiting = _socket(middleware, "a"), _socket(middleware, "b")
    holding = asyncio.ensure_future(held.connect(timeout=5))
    await asyncio.sleep(0.1)
    assert (await waiting.connect(timeout=2))[0]
    closed = await waiting.receive_output(1)
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_BUSY)
    assert len(middleware.line) == 0
    inner.gates[0].set()
    assert (await holding)[0]
    assert middleware.pending == 0  # the slot came back, not passed to the one gone
    await held.disconnect()


async def test_a_socket_gone_while_in_line_gives_back_nothing_it_did_not_take(settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 1
    settings.WS_MAX_QUEUED_HANDSHAKES = 10
    settings.WS_HANDSHAKE_WAIT_SECONDS = 5
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    held, gone, next_one = (_socket(middleware, n) for n in ("a", "b", "c"))
    holding = asyncio.ensure_future(held.connect(timeout=5))
    await asyncio.sleep(0.1)
    gone_connecting = asyncio.ensure_future(gone.connect(timeout=5))
    await asyncio.sleep(0.1)
    gone.future.cancel()  # the server cancels the application of a socket that left
    await asyncio.sleep(0.1)
    gone_connecting.cancel()
    assert len(middleware.line) == 0
    next_connecting = asyncio.ensure_future(next_one.connect(timeout=5))
    await asyncio.sleep(0.1)
    inner.gates[0].set()
    await asyncio.sleep(0.2)
    inner.gates[1].set()
    assert (await holding)[0]
    assert (await next_connecting)[0]
    assert inner.seen == ["/a/", "/c/"]
    assert middleware.pending == 0
    await held.disconnect()
    await next_one.disconnect()
