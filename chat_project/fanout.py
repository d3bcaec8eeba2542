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
record (a client that misses an event catches up by replay). The sender sends what
queued up meanwhile as one batch (``group_send_many`` of the project's layer).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat_project import metrics
from chat_project.patches.asgiref_loop import sync_to_async_caller_loop

logger = logging.getLogger(__name__)

_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Queue] = (
    weakref.WeakKeyDictionary()
)


def caller_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this thread works for: the one a ``sync_to_async`` call came from,
    or the loop running this thread (a service body the gateway runs on its loop:
    ``chat.writer.steps``). The timeline writer notes it with each change and publishes
    the change's row on it (``chat.events.rows_written``)."""
    return sync_to_async_caller_loop() or asyncio._get_running_loop()


MAX_BATCH = 500


async def _sender(queue: asyncio.Queue) -> None:
    # Whatever queued up while the previous batch was on its way goes in one batch:
    # with the project's layer that is one Redis round trip (a pipeline of PUBLISHes,
    # in order). The stock PubSub layer holds one lock per connection around every
    # PUBLISH, so one publish at a time per process: at ~300 publishes/s the fan-out
    # queue grew by seconds while acks stayed fast (docs/benchmarks.md).
    while True:
        batch = [await queue.get()]
        while len(batch) < MAX_BATCH and not queue.empty():
            batch.append(queue.get_nowait())
        layer = get_channel_layer()
        send_many = getattr(layer, "group_send_many", None)
        try:
            with metrics.redis_timer("publish_batch"):
                if send_many is not None:
                    await send_many(batch)
                    continue
                for group, message in batch:
                    await layer.group_send(group, message)
        except Exception:
            logger.warning("group_send of %d events failed", len(batch), exc_info=True)


def queued() -> int:
    """Events waiting to be published, across this process's loops (metrics)."""
    return sum(queue.qsize() for queue in list(_queues.values()))


def _enqueue(loop: asyncio.AbstractEventLoop, group: str, message: dict[str, Any]) -> None:
    # When it was published, for the receiving sockets' fan-out latency (chat_project.metrics).
    message = {**message, "published_at": time.time()}
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = asyncio.Queue()
        task = loop.create_task(_sender(queue), name="fanout")
        queue.task = task  # type: ignore[attr-defined]  (keeps the task referenced)
    queue.put_nowait((group, message))


def publish_from_loop(group: str, message: dict[str, Any]) -> None:
    """:func:`publish` for code running on the event loop (the gateway's ephemeral
    events): queued behind the loop's other sends, batched with them."""
    _enqueue(asyncio.get_running_loop(), group, message)


def publish(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = caller_loop()
    if loop is not None and loop is asyncio._get_running_loop():
        _enqueue(loop, group, message)  # called on the loop itself
        return
    if loop is not None:
        loop.call_soon_threadsafe(_enqueue, loop, group, message)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("group_send to %s failed", group, exc_info=True)
