"""The WebSocket handshake stack between the origin check and the router: a bound on
handshakes in progress, then the session cookie to ``scope["user"]``.

It replaces Channels' ``AuthMiddlewareStack`` (cookie, session and auth middleware, each
with a scope copy and a coroutine frame kept for the socket's lifetime, and a lazy
session store and user). Here one middleware frame stays, the scope gets the user (or
``AnonymousUser``) and ``session_key``, and session and user are read in one thread hop
(``accounts.async_services.socket_user``). Issue 8, scenario 1: memory per idle socket.

Overload. Handshakes that the application has not answered yet queue up; past daphne's
``websocket_connect_timeout`` daphne drops them, after the work on them was done, and
throughput collapses (5,000 sockets at 100/s lost 1,544 that way). So at most
``WS_MAX_PENDING_HANDSHAKES`` are in progress in this process; the next ones wait in
line, first come first served, each for at most ``WS_HANDSHAKE_WAIT_SECONDS``
(``chat_project.serve`` gives daphne a connect timeout past that wait and the bound). The
line is as long as this process answers handshakes in that wait, by the rate it
answered them over the last second (at least ``WS_MAX_PENDING_HANDSHAKES``, at most
``WS_MAX_QUEUED_HANDSHAKES``): a socket past it, or whose wait ran out, is accepted and
closed at once with 4013 (try again later, after a backoff), before any store is read.
Waiting costs a future; a refusal costs a handshake that the client repeats, so a line
that refuses only what it could not serve in time keeps a reconnect storm cheap (issue
29: 5,000 sockets back at once).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie

from accounts import async_services as accounts_async
from chat_project import deadlines, drain, logs
from chat_project.errors import ServiceUnavailable

CLOSE_BUSY = 4013  # RFC 6455's 1013 "try again later"; Autobahn lets apps send 4000-4999


class HandshakeMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.pending = 0  # handshakes started in this process and not answered yet
        self.line: deque[asyncio.Future[None]] = deque()  # waiting for a slot, in order
        self.rate = 0.0  # handshakes answered per second, over the last whole second
        self._answers = 0
        self._since = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        logs.request_id.set(logs.request_id_from(scope.get("headers") or []))
        if drain.is_draining():  # this process is going away: reconnect (to another)
            await _refuse(receive, send, drain.CLOSE_SERVICE_RESTART, "service restart")
            return None
        if not await self._slot():
            await _refuse(receive, send, CLOSE_BUSY, "busy")
            return None
        answered = False

        async def send_and_count(message: dict[str, Any]) -> None:
            nonlocal answered
            if not answered and message["type"] in ("websocket.accept", "websocket.close"):
                answered = True
                self._release()
            await send(message)

        try:
            # A page allowed only without its cookie signs in later, by a session id it
            # holds (chat_project.origins, the compatibility edge's namespace).
            session_key = None if scope.get("cookieless") else _session_cookie(scope)
            user = None
            if session_key:
                try:
                    # Bounded as every request (chat_project.deadlines): a stalled store
                    # refuses the socket for now rather than holding it.
                    deadline = deadlines.of()
                    with deadlines.until(deadline):
                        async with asyncio.timeout_at(deadline + deadlines.MARGIN):
                            user = await accounts_async.socket_user(session_key=session_key)
                except (TimeoutError, ServiceUnavailable):
                    await _refuse(receive, send, CLOSE_BUSY, "busy")
                    return None
            # Set on daphne's own scope of this socket rather than on a copy: nothing
            # else reads it, and a copy stays alive as long as the socket does.
            scope["user"] = user or AnonymousUser()
            scope["session_key"] = session_key if user else None
            return await self.inner(scope, receive, send_and_count)
        finally:
            if not answered:
                self._release()

    async def _slot(self) -> bool:
        """Take a handshake slot, waiting in line for one when all are taken; False:
        the line is full or the wait ran out (refuse busy)."""
        if self.pending < settings.WS_MAX_PENDING_HANDSHAKES and not self.line:
            self.pending += 1
            return True
        if len(self.line) >= self.line_length():
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.line.append(turn)
        try:
            async with asyncio.timeout(settings.WS_HANDSHAKE_WAIT_SECONDS):
                await turn
            return True
        except (TimeoutError, asyncio.CancelledError) as exc:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot as the wait ended: pass it on
            elif turn in self.line:
                self.line.remove(turn)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False

    def line_length(self) -> int:
        """How many may wait: as many as are answered in one wait, within the bounds."""
        served = int(self.rate * settings.WS_HANDSHAKE_WAIT_SECONDS)
        return min(
            settings.WS_MAX_QUEUED_HANDSHAKES, max(settings.WS_MAX_PENDING_HANDSHAKES, served)
        )

    def _release(self) -> None:
        """A slot is free: it passes to the first socket still waiting in line (the
        count stays), or the count drops."""
        now = asyncio.get_running_loop().time()
        self._answers += 1
        if now - self._since >= 1.0:
            self.rate = self._answers / (now - self._since)
            self._answers, self._since = 0, now
        while self.line:
            turn = self.line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.pending -= 1


async def _refuse(receive: Any, send: Any, code: int, reason: str) -> None:
    message = await receive()  # websocket.connect (or the client is already gone)
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})  # so that a browser can read the code
    await send({"type": "websocket.close", "code": code, "reason": reason})


def _session_cookie(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            return parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
    return None
