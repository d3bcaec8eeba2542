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
        self.holding = True

    def open_all(self) -> None:
        self.holding = False
        for gate in self.gates:
            gate.set()

    async def __call__(self, scope, receive, send) -> None:
        gate = asyncio.Event()
        if not self.holding:
            gate.set()
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
    settings.WS_MAX_PENDING_HANDSHAKES = 2
    settings.WS_MAX_QUEUED_HANDSHAKES = 10
    settings.WS_HANDSHAKE_WAIT_SECONDS = 5
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    sockets = [_socket(middleware, n) for n in ("a", "b", "c", "d")]
    connecting = [asyncio.ensure_future(s.connect(timeout=5)) for s in sockets]
    await asyncio.sleep(0.2)
    assert inner.seen == ["/a/", "/b/"]  # c and d wait in line, nothing done for them yet
    assert (middleware.pending, len(middleware.line)) == (2, 2)

    inner.gates[1].set()
    await asyncio.sleep(0.2)
    assert inner.seen == ["/a/", "/b/", "/c/"]  # b's answer passed its slot to c
    inner.gates[0].set()
    await asyncio.sleep(0.2)
    assert inner.seen == ["/a/", "/b/", "/c/", "/d/"]
    inner.gates[2].set()
    inner.gates[3].set()
    assert [c[0] for c in await asyncio.gather(*connecting)] == [True] * 4
    assert (middleware.pending, len(middleware.line)) == (0, 0)
    for s in sockets:
        await s.disconnect()


async def test_the_line_is_as_long_as_the_handshakes_answered_in_one_wait(settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 1
    settings.WS_MAX_QUEUED_HANDSHAKES = 100
    settings.WS_HANDSHAKE_WAIT_SECONDS = 1
    inner = HeldApp()
    middleware = HandshakeMiddleware(inner)
    quick = []
    started = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - started < 1.2:  # ~20 answered a second
        sock = _socket(middleware, "quick")
        connecting = asyncio.ensure_future(sock.connect(timeout=5))
        await asyncio.sleep(0.01)
        inner.gates[-1].set()
        assert (await connecting)[0]
        quick.append(sock)
        await asyncio.sleep(0.04)
    held = _socket(middleware, "held")
    holding = asyncio.ensure_future(held.connect(timeout=5))
    await asyncio.sleep(0.05)
    waiting = [_socket(middleware, f"w{n}") for n in range(5)]
    connecting = [asyncio.ensure_future(s.connect(timeout=5)) for s in waiting]
    await asyncio.sleep(0.1)
    assert len(middleware.line) == 5  # none refused: more than one slot's worth waits
    inner.open_all()
    assert (await holding)[0]
    assert [c[0] for c in await asyncio.gather(*connecting)] == [True] * 5
    for sock in [*quick, held, *waiting]:
        await sock.disconnect()


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
