"""How a consumer receives (a mixin of ``chat_project.gateway.consumer.EventConsumer``): the
client's frames and its channel-layer messages, dispatched one at a time as they come.

channels' ``AsyncConsumer.__call__`` waits with ``await_many_dispatch``: a new task for
every message and an ``asyncio.wait`` over both sources each time, which was ~8% of
the gateway's CPU in the chat benchmark, where most messages are the layer's (every
room event reaches each of the room's sockets). With the project's layer
(``chat_project.patches.channel_layer``) the consumer reads its inbox directly and
keeps one task only to read the client's frames (docs/benchmarks.md, issue 12), which
stamps each with its arrival (issue 28: a frame queued behind a slow one is answered
within its own bound). With any other layer, channels' own loop runs.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from typing import Any

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from chat_project.patches.channel_layer import EMPTY, Inbox

logger = logging.getLogger(__name__)


class InboxReceiving:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        layer = get_channel_layer(self.channel_layer_alias)
        if getattr(layer, "inbox", None) is None:  # another layer: channels' own loop
            await super().__call__(scope, receive, send)
            return
        self.scope = scope
        self.channel_layer = layer
        self.channel_name = await layer.new_channel()
        self.channel_receive = functools.partial(layer.receive, self.channel_name)
        self.base_send = send
        try:
            await self._receive_loop(receive, layer.inbox(self.channel_name))
        except StopConsumer:
            pass
        finally:
            try:
                await layer.close_channel(self.channel_name)
            except Exception:
                logger.warning("unsubscribing %s failed", self.channel_name, exc_info=True)

    async def _receive_loop(self, receive: Any, inbox: Inbox) -> None:
        """Dispatch the client's frames and the layer's messages as they come, one at a
        time. One task reads the client's frames as they arrive, stamping each with its
        arrival (``arrived``, the loop's clock: a frame's deadline counts from it,
        ``chat_project.deadlines``) into a queue of its own; the inbox is read directly.
        Either wakes this loop."""
        loop = asyncio.get_running_loop()
        frames: collections.deque[dict[str, Any]] = collections.deque()
        wake: list[asyncio.Future | None] = [None]
        failed: list[BaseException] = []

        def woken() -> None:
            if wake[0] is not None and not wake[0].done():
                wake[0].set_result(None)

        async def read_client() -> None:
            try:
                while True:
                    message = await receive()
                    message["arrived"] = loop.time()
                    frames.append(message)
                    woken()
                    if message.get("type") == "websocket.disconnect":
                        return
            except Exception as exc:  # handed to the loop, which raises it
                failed.append(exc)
                woken()

        reader = loop.create_task(read_client())
        try:
            while True:
                if frames:
                    await self.dispatch(frames.popleft())
                    continue
                if failed:
                    raise failed[0]
                message = inbox.take()  # decoded already (the layer's local delivery)
                if message is not EMPTY:
                    await self.dispatch(message)
                    continue
                wake[0] = loop.create_future()
                inbox.wake_on_put(wake[0])
                try:
                    await wake[0]
                finally:
                    inbox.wake_on_put(None)
                    wake[0] = None
        finally:
            reader.cancel()
