"""Presence upkeep for one gateway process: one asyncio task per event loop that

- refreshes the leases of every socket of this process each ``WS_HEARTBEAT_SECONDS``
  (one pipelined round trip for all of them), so a user stays online while any of their
  sockets lives, in any process;
- every ``WS_PRESENCE_SWEEP_SECONDS`` takes users whose leases all ran out offline
  (``presence.aexpire_stale``: one atomic script per user, so across all processes
  exactly one reports each transition) and publishes ``presence.changed``.

Leases expire by themselves (``WS_PRESENCE_TTL_SECONDS``) when a process dies; a closed
socket keeps its lease for ``WS_PRESENCE_GRACE_SECONDS`` so a page reload does not flap.
The task stops a while after the process's last socket closed (long enough to report
that user going offline) and starts again with the next socket.

Who hears a transition: group ``presence`` (agents and admins: everyone's) and, for
agents only, group ``presence.agents`` (customers). The same rule decides
``online-users`` and ``online-agents`` (the gateway, ``chat.gateway.consumer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from accounts import presence
from accounts.events import (
    PRESENCE_AGENTS_GROUP,
    PRESENCE_STAFF_GROUP,
    presence_message,
    status_message,
)

logger = logging.getLogger(__name__)

# Apps built on accounts (routing) plug in here, so accounts never imports them: a hook for
# "this user just came online" and hooks run every so many seconds while this process
# has sockets.
_online_hooks: list[Callable[[str, str], Awaitable[None]]] = []
_periodic_hooks: list[tuple[float, Callable[[], Awaitable[None]]]] = []


def register_online_hook(hook: Callable[[str, str], Awaitable[None]]) -> None:
    _online_hooks.append(hook)


def register_periodic_hook(every_seconds: float, hook: Callable[[], Awaitable[None]]) -> None:
    _periodic_hooks.append((every_seconds, hook))


def _spawn(coro: Awaitable[None]) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task] = set()

STAFF_GROUP = PRESENCE_STAFF_GROUP  # accounts.events publishes manual status changes too
AGENTS_GROUP = PRESENCE_AGENTS_GROUP


@dataclass
class LocalSocket:
    user: Any  # accounts.models.User: role, status and accepting_chats for announcements
    conn_id: str


async def publish_status(message: dict[str, Any]) -> None:
    """To whoever may see it: staff see everyone, customers see agents."""
    if message.get("online") is True:
        for hook in _online_hooks:
            _spawn(hook(message["user_id"], message.get("role", "")))
    layer = get_channel_layer()
    if layer is None:
        return
    groups = [STAFF_GROUP] + ([AGENTS_GROUP] if message.get("role") == "agent" else [])
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception:  # fan-out is best effort; presence is re-read on demand
            logger.warning("presence group_send to %s failed", group, exc_info=True)


async def _logged(hook: Callable[[], Awaitable[None]]) -> None:
    try:
        await hook()
    except Exception:
        logger.warning("periodic hook %s failed", hook, exc_info=True)


class Liveness:
    def __init__(self) -> None:
        self.sockets: dict[str, LocalSocket] = {}
        self.task: asyncio.Task | None = None
        self.idle_since: float | None = None

    def add(self, user: Any, conn_id: str) -> None:
        self.sockets[conn_id] = LocalSocket(user, conn_id)
        self.idle_since = None
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name="liveness")

    def remove(self, conn_id: str) -> None:
        self.sockets.pop(conn_id, None)
        if not self.sockets:
            self.idle_since = time.monotonic()

    async def _run(self) -> None:
        next_beat = time.monotonic() + settings.WS_HEARTBEAT_SECONDS
        last_hook_run: dict[int, float] = {}
        # After the last local socket closes, keep sweeping until its grace has run out.
        linger = settings.WS_PRESENCE_GRACE_SECONDS + 3 * settings.WS_PRESENCE_SWEEP_SECONDS
        while True:
            await asyncio.sleep(settings.WS_PRESENCE_SWEEP_SECONDS)
            self._run_due_hooks(last_hook_run)
            try:
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + settings.WS_HEARTBEAT_SECONDS
                    await self.heartbeat()
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away for a moment: try again next round
                logger.warning("presence upkeep failed", exc_info=True)
            if self.idle_since is not None and time.monotonic() - self.idle_since > linger:
                self.task = None
                return

    @staticmethod
    def _run_due_hooks(last_run: dict[int, float]) -> None:
        now = time.monotonic()
        for index, (every, hook) in enumerate(_periodic_hooks):
            if now - last_run.get(index, 0.0) >= every:
                last_run[index] = now
                _spawn(_logged(hook))

    async def heartbeat(self) -> None:
        sockets = list(self.sockets.values())
        came = await presence.aleases_touch(
            leases=[(str(s.user.pk), s.conn_id) for s in sockets],
            ttl_seconds=settings.WS_PRESENCE_TTL_SECONDS,
        )
        # Someone's leases had all run out (a stalled loop): they are back.
        users = {str(s.user.pk): s.user for s in sockets}
        for user_id in came:
            await publish_status(status_message(users[user_id], online=True))

    async def sweep(self) -> None:
        gone = await presence.aexpire_stale()
        if not gone:
            return
        roles = await presence.aroles_of(gone)
        for user_id in gone:
            gone_offline = presence_message(
                user_id=user_id,
                role=roles.get(user_id, ""),
                status="offline",
                online=False,
                accepting_chats=None,
            )
            await publish_status(gone_offline)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Liveness] = (
    weakref.WeakKeyDictionary()
)


def liveness() -> Liveness:
    """This event loop's (this process's) liveness keeper."""
    loop = asyncio.get_running_loop()
    keeper = _per_loop.get(loop)
    if keeper is None:
        keeper = _per_loop[loop] = Liveness()
    return keeper
