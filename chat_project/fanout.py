"""Publishing to the channel layer from sync code (services), without holding the
calling thread.

Services run on the gateway's database threads (``database_sync_to_async``) or on the
threads Django's ASGI handler gives sync views; in a daphne process those threads
are the bottleneck, and ``async_to_sync(group_send)`` would hold one for a full round
trip to Redis per event. Here the send is handed to the process's event loop and the
thread returns at once. One sender task per loop sends in the order of the calls, so
a room's events leave a process in seq order. Outside an event loop's threads
(commands, tests without a server) the send is made inline.

Fan-out is best effort either way: the write already happened and the store is the
record (a client that misses an event catches up by replay).
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue] = (
    weakref.WeakKeyDictionary()
)


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


async def _sender(queue: asyncio.Queue) -> None:
    while True:
        group, message = await queue.get()
        layer = get_channel_layer()
        try:
            await layer.group_send(group, message)
        except Exception:
            logger.warning("group_send to %s failed", group, exc_info=True)


def _enqueue(loop: asyncio.AbstractEventLoop, group: str, message: dict[str, Any]) -> None:
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = asyncio.Queue()
        task = loop.create_task(_sender(queue), name="fanout")
        queue.task = task  # type: ignore[attr-defined]  (keeps the task referenced)
    queue.put_nowait((group, message))


def publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _caller_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_enqueue, loop, group, message)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("group_send to %s failed", group, exc_info=True)
