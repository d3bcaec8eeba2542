"""The layer's per-socket inbox (chat_project.patches.channel_layer); the layer itself runs under
every socket test."""

from __future__ import annotations

import asyncio
import json

import pytest

from chat_project.patches.channel_layer import EMPTY, Inbox


async def test_inbox_hands_messages_to_its_reader_in_order_and_keeps_nothing_when_empty():
    inbox = Inbox()
    reader = asyncio.get_running_loop().create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("a")
    inbox.put_nowait("b")
    assert inbox.qsize() == 2
    assert await reader == "a"
    assert await inbox.get() == "b"
    assert inbox.qsize() == 0
    assert inbox._items is None  # an idle socket keeps no deque


async def test_inbox_reader_can_be_cancelled_and_a_second_reader_is_refused():
    inbox = Inbox()
    first = asyncio.get_running_loop().create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    inbox.put_nowait("c")
    assert await inbox.get() == "c"


async def test_a_consumer_loop_takes_messages_directly_and_is_woken_by_a_put():
    inbox = Inbox()
    assert inbox.take() is EMPTY
    wake = asyncio.get_running_loop().create_future()
    inbox.wake_on_put(wake)
    inbox.put_nowait("d")
    assert wake.done()
    inbox.wake_on_put(None)
    inbox.put_nowait("e")
    assert (inbox.take(), inbox.take(), inbox.take()) == ("d", "e", EMPTY)
    assert inbox._items is None


@pytest.mark.django_db(transaction=True)
async def test_a_consumers_channel_is_unsubscribed_when_its_socket_closes(customer):
    """The consumer's own receive loop (chat_project.patches.channels_consumer) gets the layer's
    messages and, when the socket closes, forgets and unsubscribes its channel as
    channels_redis' receive does."""
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from chat.tests.test_consumers import ORIGIN, _cookie
    from chat_project.asgi import application

    cookie = await sync_to_async(_cookie)(customer)
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=[ORIGIN, (b"cookie", cookie)])
    connected, _ = await comm.connect()
    assert connected
    layer = get_channel_layer()
    channels = layer._get_layer().channels
    before = set(channels)
    assert before  # this socket's channel
    await layer.group_send(
        f"user.{customer.pk}", {"type": "user.event", "event": "ping", "data": {"n": 1}}
    )
    async with asyncio.timeout(3):
        while (frame := json.loads(await comm.receive_from())).get("event") != "ping":
            pass
    assert frame == {"event": "ping", "data": {"n": 1}}
    await comm.disconnect()
    assert not before & set(channels)
