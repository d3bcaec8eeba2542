"""The WebSocket handshake stack between the origin check and the router: a bound on
handshakes in progress, then the session cookie to ``scope["user"]``.

It replaces Channels' ``AuthMiddlewareStack`` (cookie, session and auth middleware, each
with a scope copy and a coroutine frame kept for the socket's lifetime, and a lazy
session store and user). Here one middleware frame stays, the scope gets the user (or
``AnonymousUser``) and ``session_key``, and session and user are read in one thread hop
(``accounts.async_services.socket_user``). Issue 8, scenario 1: memory per idle socket.

Overload. Handshakes that the application has not answered yet queue up; past daphne's
``websocket_connect_timeout`` (5 s) daphne drops them, after the work on them was done,
and throughput collapses (5,000 sockets at 100/s lost 1,544 that way). With more than
``WS_MAX_PENDING_HANDSHAKES`` in progress in this process, a new socket is accepted and
closed at once with 4013 (try again later, after a backoff), before any store is read.
"""

from __future__ import annotations

import asyncio
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

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        logs.request_id.set(logs.request_id_from(scope.get("headers") or []))
        if drain.is_draining():  # this process is going away: reconnect (to another)
            await _refuse(receive, send, drain.CLOSE_SERVICE_RESTART, "service restart")
            return None
        if self.pending >= settings.WS_MAX_PENDING_HANDSHAKES:
            await _refuse(receive, send, CLOSE_BUSY, "busy")
            return None
        self.pending += 1
        answered = False

        async def send_and_count(message: dict[str, Any]) -> None:
            nonlocal answered
            if not answered and message["type"] in ("websocket.accept", "websocket.close"):
                answered = True
                self.pending -= 1
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
