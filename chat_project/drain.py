"""A graceful drain of one gateway process (issue 17), started by SIGTERM in the launcher
(``python -m chat_project.serve``, ``chat_project.patches.daphne_drain``).

In this order, within ``DRAIN_SECONDS`` altogether:

1. the process stops listening (the launcher: the proxy's next connection attempt to it
   is refused and goes to another process) and is *draining*: ``/api/health`` answers
   503 ``draining``, a socket handshake that still arrives is closed with 1012 at once;
2. every socket stops taking frames: a frame read from now on is answered
   ``service_unavailable`` (its ack included) and not run;
3. what the sockets had started finishes: the frame being handled, the acks still to
   come (coalesced receipts are written now), then what the apps registered with
   :func:`register_hook` (the timeline writer: everything queued or in flight is
   written and answered);
4. every socket is closed with 1012 "service restart" (README, close codes): the client
   reconnects, through the proxy to another process, and sends ``sync``. Its presence
   lease is released with ``WS_DRAIN_PRESENCE_GRACE_SECONDS`` of grace (not the usual
   ``WS_PRESENCE_GRACE_SECONDS``), so that the user is back on another process before
   anyone sees them go offline;
5. the launcher waits for the sockets' disconnects, for every application instance to
   end (HTTP requests in flight, and each socket's consumer, whose exit unsubscribes its
   channel) within the rest of the bound, then stops the reactor: the process exits 0.

The project package imports no app: the apps plug their part in with
:func:`register_hook` (``chat``: the timeline writer idle); the sockets register
themselves (``chat_project.gateway.consumer.EventConsumer``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012  # RFC 6455 / IANA: "Service Restart"

_draining = False
_started_at = 0.0
_hooks: list[Callable[[float], Awaitable[None]]] = []
# The sockets of this process (EventConsumer instances), open or closing.
sockets: weakref.WeakSet[Any] = weakref.WeakSet()


def is_draining() -> bool:
    return _draining


def register_hook(hook: Callable[[float], Awaitable[None]]) -> None:
    """``await hook(seconds_left)`` runs after the sockets' own work finished, before
    they are closed: finish what was accepted, within the time given."""
    _hooks.append(hook)


def in_flight() -> int:
    """Frames being handled and acks still to send, across this process's sockets."""
    return sum(consumer.in_flight() for consumer in list(sockets))


def seconds_left() -> float:
    return max(0.0, _started_at + settings.DRAIN_SECONDS - time.monotonic())


def presence_grace_seconds() -> float:
    """The grace a closing socket's presence lease keeps: longer while draining."""
    grace = settings.WS_PRESENCE_GRACE_SECONDS
    return max(grace, settings.WS_DRAIN_PRESENCE_GRACE_SECONDS) if _draining else grace


def begin() -> None:
    """Mark the process as draining (step 1): health and handshakes see it at once."""
    global _draining, _started_at
    if not _draining:
        _draining, _started_at = True, time.monotonic()


async def drain_sockets() -> dict[str, Any]:
    """Steps 2 to 4. Returns what happened (logged by the launcher)."""
    begin()
    report: dict[str, Any] = {"sockets": len(sockets)}
    for consumer in list(sockets):
        consumer.stop_taking_frames()
    # Coalesced receipts and the like go now, not after their timers.
    await _bounded(asyncio.gather(*(c.finish_pending() for c in list(sockets))), "pending")
    await until(lambda: in_flight() == 0)
    report["unfinished_frames"] = in_flight()
    for hook in _hooks:
        await _bounded(hook(seconds_left()), getattr(hook, "__name__", "hook"))
    await _bounded(
        asyncio.gather(*(c.close_for_restart() for c in list(sockets))), "close", min_left=0.5
    )
    report["took_s"] = round(time.monotonic() - _started_at, 3)
    return report


async def wait_sockets_gone() -> int:
    """Step 5's socket half: until every socket's disconnect ran, or the bound."""
    await until(lambda: not sockets)
    return len(sockets)


async def until(done: Callable[[], bool], *, every: float = 0.02) -> bool:
    """Poll ``done()`` until it holds or the drain's bound runs out (what is waited for
    are counts kept by daphne and by each socket, with no event to wait on)."""
    while not done():
        if seconds_left() <= 0:
            return False
        await asyncio.sleep(every)
    return True


async def _bounded(work: Awaitable[Any], what: str, *, min_left: float = 0.0) -> None:
    try:
        await asyncio.wait_for(work, timeout=max(seconds_left(), min_left))
    except TimeoutError:
        logger.warning("drain: %s did not finish within the bound", what)
    except Exception:
        logger.exception("drain: %s failed", what)
