"""The channel layer: channels_redis' PubSub layer with a smaller per-socket inbox that a
consumer can read without a task per message, batched subscriptions (:class:`_Shard`),
batched publishing (:meth:`PubSubChannelLayer.group_send_many`) and local delivery.

**Local delivery** (issue 29). channels_redis sends every message through Redis, also to
the sockets of the process that sent it, and every socket of a group decodes its own
copy. Here a message for a channel or group with members in this process (this event
loop's layer) goes into their inboxes at once, as the one decoded message they share
(consumers read it, never change it); it is still published, for the other processes,
marked with the publishing layer's origin (:data:`ORIGIN_MARK` and 8 random bytes), and
the copy that comes back from Redis is dropped unread. A message from another process is
decoded once, however many sockets here receive it. Order per sender is unchanged: a
layer hands messages to its inboxes in the order it publishes them, and Redis keeps
that order for everyone else. Redis being away no longer stops delivery in-process.

The PubSub layer keeps an ``asyncio.Queue`` per consumer channel: four deques (getters,
putters, items and an Event's waiters), ~3 KB per socket before anything arrives (a
tenth of an idle socket's memory; issue 8, scenario 1). A consumer channel has exactly
one reader (the consumer's receive loop), so :class:`Inbox` keeps one waiting future
and a deque only while messages are waiting. Everything else is channels_redis' own.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections import deque
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close

logger = logging.getLogger(__name__)

EMPTY = object()

# What starts a payload this layer published: 0xC1 is the one byte msgpack never uses
# (and a Fernet token, with encryption on, is base64), so no other payload starts so.
ORIGIN_MARK = b"\xc1"
ORIGIN_LENGTH = len(ORIGIN_MARK) + 8


class Inbox:
    """The messages waiting for one consumer channel: ``put_nowait``, ``get`` (one reader
    at a time) and ``qsize``, as the layer and ``chat_project.gateway.consumer`` use a
    queue; and for the consumer's own receive loop (``chat_project.patches
    .channels_consumer``), :meth:`take` and :meth:`wake_on_put`."""

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


class _Shard(RedisSingleShardConnection):
    """channels_redis' connection to one Redis, with subscriptions and publishes batched.

    channels_redis sends one ``SUBSCRIBE`` per channel and one ``PUBLISH`` per message,
    each under the shard's one lock. A socket's handshake makes three subscriptions (its
    channel, its user's group, a presence group) and a presence publish, and each room
    it joins one subscription more. In a burst of connects (a gateway restarted and its
    clients coming back; the benchmarks' 100 sockets/s) the lock passes from one waiter
    to the next once per event-loop turn: 2,119 subscriptions waited 0.47 s for it at
    the median and up to 1.4 s while each took 0.4 ms to send, handshakes took
    1.4-2.4 s, and past 200 in progress they were refused with 4013 (docs/benchmarks.md,
    "Fifth pass"). Here whatever is asked for while a command is being written goes
    into the next one:

    - subscriptions: one ``SUBSCRIBE`` or ``UNSUBSCRIBE`` with all their channels, in the
      order asked, on the pub/sub connection (the publish lock is not theirs to wait for);
    - publishes: one pipeline, in the order asked, under the lock as before
      (:meth:`write_publishes`, which :meth:`PubSubChannelLayer.group_send_many` calls
      with its own batches).

    A caller returns once its command is written, as with channels_redis."""

    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        self._changes = _Batcher(self._write_changes)
        self._publishes = _Batcher(self.write_publishes)

    async def subscribe(self, channel: str) -> None:
        await self._changes.add((True, channel))

    async def unsubscribe(self, channel: str) -> None:
        await self._changes.add((False, channel))

    async def publish(self, channel: str, message: bytes) -> None:
        await self._publishes.add((channel, message))

    async def _write_changes(self, changes: list[tuple[bool, str]]) -> None:
        for subscribe, run in itertools.groupby(changes, key=lambda change: change[0]):
            channels = dict.fromkeys(channel for _, channel in run)
            wanted = [c for c in channels if (c in self._subscribed_to) != subscribe]
            if not wanted:
                continue
            self._ensure_redis()
            self._ensure_receiver()
            if subscribe:
                await self._pubsub.subscribe(*wanted)
                self._subscribed_to.update(wanted)
            else:
                await self._pubsub.unsubscribe(*wanted)
                self._subscribed_to.difference_update(wanted)

    async def write_publishes(self, publishes: list[tuple[str, bytes]]) -> None:
        """``(channel, message)`` pairs, in order, as one pipeline under the lock."""
        async with self._lock:
            self._ensure_redis()
            pipe = self._redis.pipeline(transaction=False)
            for channel, message in publishes:
                pipe.publish(channel, message)
            await pipe.execute()

    def _receive_message(self, message: Any) -> None:
        if message is None:
            return
        data = message["data"]
        layer = self.channel_layer
        if data[:1] == ORIGIN_MARK:
            if data[:ORIGIN_LENGTH] == layer.origin:
                return  # this layer's own: delivered here when it was sent
            data = data[ORIGIN_LENGTH:]
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        inboxes = layer.inboxes_of(name)
        if not inboxes:
            return
        try:
            decoded = layer.channel_layer.deserialize(data)
        except Exception:  # one bad payload must not stop the receiver
            logger.warning("undecodable message on %s", name, exc_info=True)
            return
        for inbox in inboxes:
            inbox.put_nowait(decoded)


class _Batcher:
    """Items added while a batch is being written go into the next batch, written by
    one task. Each caller gets its batch's outcome (a failed batch fails its callers
    only); a cancelled caller's item is still written."""

    def __init__(self, write: Any) -> None:
        self._write = write
        self._waiting: list[tuple[Any, asyncio.Future]] = []
        self._task: asyncio.Future | None = None

    async def add(self, item: Any) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        await done

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([item for item, _ in batch])
                outcome: BaseException | None = None
            except Exception as exc:  # Redis away: these callers see it, the next try again
                outcome = exc
            for _, done in batch:
                if done.done():  # the caller was cancelled
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]
        # Per loop, not per process: another loop's layer (a test's async_to_sync) in
        # this process has inboxes of its own and must still get these from Redis.
        self.origin = ORIGIN_MARK + os.urandom(ORIGIN_LENGTH - len(ORIGIN_MARK))

    def inboxes_of(self, name: str) -> list[Inbox]:
        """The inboxes in this layer of a channel or of a group's channel."""
        inbox = self.channels.get(name)
        if inbox is not None:
            return [inbox]
        members = self.groups.get(name)
        if not members:
            return []
        return [self.channels[c] for c in members if c in self.channels]

    def deliver_here(self, name: str, message: dict[str, Any]) -> None:
        for inbox in self.inboxes_of(name):
            inbox.put_nowait(message)

    def payload(self, message: dict[str, Any]) -> bytes:
        return self.origin + self.channel_layer.serialize(message)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        inbox = self.channels.get(channel)
        if inbox is not None:  # a channel lives in one layer: no one else to tell
            inbox.put_nowait(message)
            return
        await self._get_shard(channel).publish(channel, self.payload(message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        channel = self._get_group_channel_name(group)
        self.deliver_here(channel, message)
        await self._get_shard(channel).publish(channel, self.payload(message))

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

    def deserialize(self, message: Any) -> Any:
        # An inbox holds decoded messages only (see the module docstring); bytes still
        # decode as before for any caller that has some.
        if isinstance(message, dict):
            return message
        return super().deserialize(message)

    def inbox(self, channel: str) -> Inbox | None:
        """The queue of messages waiting for ``channel`` in this process (None if it has
        none here): the gateway watches its length to close a socket that falls too far
        behind (``chat_project.gateway.consumer``)."""
        return self._get_layer().channels.get(channel)

    async def group_send_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """``group_send`` of each ``(group, message)``, in order: delivered here, then as
        one Redis pipeline per shard (``_Shard.write_publishes``): ``chat_project.fanout``
        hands over what queued up as one batch already, so it skips the shard's own
        batching."""
        layer = self._get_layer()
        by_shard: dict[Any, list[tuple[str, bytes]]] = {}
        for group, message in messages:
            channel = layer._get_group_channel_name(group)
            layer.deliver_here(channel, message)
            by_shard.setdefault(layer._get_shard(channel), []).append(
                (channel, layer.payload(message))
            )
        for shard, items in by_shard.items():
            await shard.write_publishes(items)
