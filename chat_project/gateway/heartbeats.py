"""Engine.IO's server pings for the Socket.IO sockets of a process
(``chat_project.gateway.socketio``): one task per event loop, the sockets spread over the
ping interval, no store read."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from chat_project.gateway.socketio import SocketIOTransport

logger = logging.getLogger(__name__)


class Heartbeats:
    """Engine.IO's server pings for every Socket.IO socket of one event loop (process).

    One task wakes every ``tick`` (at most 1 s) and visits one of ``interval / tick``
    slots, so each socket is pinged once per interval and a process's pings are spread
    over the interval rather than sent in one burst. A socket costs a set entry and two
    attributes; a ping is one text frame; no store is read or written (presence leases
    have their own per-process heartbeat, ``accounts.liveness``).

    At its turn a socket that has not answered ``max_unanswered`` pings in a row (as many
    intervals as cover ``pingTimeout``; it answers each within ``pingTimeout`` when alive)
    is closed; so is one that never sent its Socket.IO ``CONNECT``."""

    def __init__(self, *, interval: float, timeout: float, max_tick: float = 1.0) -> None:
        self.loop = asyncio.get_running_loop()
        self.tick = min(max_tick, interval)
        self.slots: list[set[SocketIOTransport]] = [
            set() for _ in range(max(1, round(interval / self.tick)))
        ]
        # Sockets opened since the last tick. The tick puts them into the slot it has just
        # visited, so a socket's first visit (which closes it if its CONNECT has not come)
        # is a whole interval after its open, never the next tick a moment later.
        self.joining: set[SocketIOTransport] = set()
        self.max_unanswered = max(1, math.ceil(timeout / interval))
        self.cursor = 0
        self.task: asyncio.Task | None = None

    def add(self, sock: SocketIOTransport) -> None:
        self.joining.add(sock)
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def remove(self, sock: SocketIOTransport) -> None:
        self.joining.discard(sock)
        for slot in self.slots:
            slot.discard(sock)

    async def _run(self) -> None:
        # Stops with the process's last socket; add() restarts it.
        while self.joining or any(self.slots):
            await asyncio.sleep(self.tick)
            slot = self.slots[self.cursor]
            self.cursor = (self.cursor + 1) % len(self.slots)
            for sock in list(slot):
                try:
                    await sock.heartbeat(self.max_unanswered)
                except Exception:  # one socket must not stop the others' pings
                    logger.warning("Socket.IO heartbeat failed", exc_info=True)
            slot |= self.joining
            self.joining = set()
        self.task = None


_heartbeats: Heartbeats | None = None


def heartbeats() -> Heartbeats:
    """This process's :class:`Heartbeats` (a new one for a new event loop: tests)."""
    global _heartbeats
    if _heartbeats is None or _heartbeats.loop is not asyncio.get_running_loop():
        _heartbeats = Heartbeats(
            interval=settings.SOCKETIO_PING_INTERVAL_SECONDS,
            timeout=settings.SOCKETIO_PING_TIMEOUT_SECONDS,
        )
    return _heartbeats
