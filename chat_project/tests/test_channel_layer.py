"""The layer's per-socket inbox (chat_project.patches.channel_layer); the layer itself runs under
every socket test."""

from __future__ import annotations

import asyncio

import pytest

from chat_project.patches.channel_layer import Inbox


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
