"""The channel layer: channels_redis' PubSub layer with a smaller per-socket inbox that a
consumer can read without a task per message, and batched publishing
(:meth:`PubSubChannelLayer.group_send_many`).

The PubSub layer keeps an ``asyncio.Queue`` per consumer channel: four deques (getters,
putters, items and an Event's waiters), ~3 KB per socket before anything arrives (a
tenth of an idle socket's memory; issue 8, scenario 1). A consumer channel has exactly
one reader (the consumer's receive loop), so :class:`Inbox` keeps one waiting future
and a deque only while messages are waiting. Everything else is channels_redis' own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
from channels_redis.utils import _wrap_close

EMPTY = object()


class Inbox:
    """The messages waiting for one consumer channel: ``put_nowait``, ``get`` (one reader
    at a time) and ``qsize``, as the layer and ``chat_project.ws`` use a queue; and for
    the consumer's own receive loop (``chat_project.ws``), :meth:`take` and
    :meth:`wake_on_put`."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque | None = None
        self._waiter: asyncio.Future | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("an Inbox has one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None  # an idle socket keeps no deque
        return item

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def take(self) -> Any:
        """The next message, or ``EMPTY``."""
        if not self._items:
            return EMPTY
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def wake_on_put(self, future: asyncio.Future | None) -> None:
        """Resolve ``future`` at the next put (None: forget it)."""
        self._waiter = future


class _LoopLayer(RedisPubSubLoopLayer):
    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = Inbox()
        await self._get_shard(channel).subscribe(channel)

    async def close_channel(self, channel: str) -> None:
        """What channels_redis' ``receive`` does when its reader is cancelled: forget the
        channel and unsubscribe it."""
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """``channels_redis.pubsub.RedisPubSubChannelLayer`` with :class:`Inbox` queues and
    :meth:`group_send_many`."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer

    async def close_channel(self, channel: str) -> None:
        await self._get_layer().close_channel(channel)

    def inbox(self, channel: str) -> Inbox | None:
        """The queue of messages waiting for ``channel`` in this process (None if it has
        none here): the gateway watches its length to close a socket that falls too far
        behind (``chat_project.ws``)."""
        return self._get_layer().channels.get(channel)

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """``group_send`` of each ``(group, message)``, in order, as one Redis pipeline
        per shard: one round trip instead of one per message (``chat_project.fanout``
        batches what queues up). channels_redis' own ``publish`` holds the shard's
        connection lock for a whole round trip, so a process publishes one message at a
        time; this holds the same lock once per batch."""
        layer = self._get_layer()
        by_shard: dict[Any, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            channel = layer._get_group_channel_name(group)
            payload = self.serialize(message)
            by_shard.setdefault(layer._get_shard(channel), []).append((channel, payload))
        for shard, items in by_shard.items():
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for channel, payload in items:
                    pipe.publish(channel, payload)
                await pipe.execute()
