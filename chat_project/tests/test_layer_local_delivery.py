"""Local delivery (chat_project.patches.channel_layer, issue 29): a message for sockets of
the sending process goes to their inboxes at once and its echo from Redis is dropped; other
processes (another layer instance here: its own connections, its own origin) still get
it through the real Valkey, decoded once however many of their sockets receive it."""

from __future__ import annotations

import asyncio

import pytest
import redis
from channels.layers import get_channel_layer

from chat_project.patches.channel_layer import ORIGIN_MARK, PubSubChannelLayer

pytestmark = pytest.mark.django_db(transaction=True)


def _another_process(layer: PubSubChannelLayer, **overrides) -> PubSubChannelLayer:
    return PubSubChannelLayer(*layer._args, **{**layer._kwargs, **overrides})


async def _inbox_after(layer: PubSubChannelLayer, channel: str, seconds: float) -> int:
    await asyncio.sleep(seconds)
    return layer.inbox(channel).qsize()


async def test_a_message_for_this_process_arrives_once_and_its_echo_is_dropped():
    layer = get_channel_layer()
    here = await layer.new_channel()
    await layer.group_add("local.a", here)
    await layer.group_send_many([("local.a", {"type": "t", "n": 1})])
    await layer.group_send("local.a", {"type": "t", "n": 2})
    await layer.send(here, {"type": "t", "n": 3})
    assert await _inbox_after(layer, here, 0.3) == 3  # the echoes came back and were dropped
    assert [(await layer.receive(here))["n"] for _ in range(3)] == [1, 2, 3]
    await layer.flush()


async def test_another_process_gets_it_through_redis_decoded_once_for_all_its_sockets():
    layer = get_channel_layer()
    other = _another_process(layer)
    first, second = await other.new_channel(), await other.new_channel()
    await other.group_add("local.b", first)
    await other.group_add("local.b", second)
    here = await layer.new_channel()
    await layer.group_add("local.b", here)
    await asyncio.sleep(0.1)  # the other's SUBSCRIBE is written before the publish
    await layer.group_send_many([("local.b", {"type": "t", "n": i}) for i in range(5)])
    async with asyncio.timeout(3):
        got_first = [await other.receive(first) for _ in range(5)]
        got_second = [await other.receive(second) for _ in range(5)]
    assert [m["n"] for m in got_first] == list(range(5))
    assert all(a is b for a, b in zip(got_first, got_second, strict=True))  # decoded once
    assert [(await layer.receive(here))["n"] for _ in range(5)] == list(range(5))
    assert await _inbox_after(layer, here, 0.2) == 0
    await other.flush()
    await layer.flush()


async def test_a_plain_channels_redis_payload_still_arrives():
    """A message published without the origin mark (another client of the same Redis)."""
    layer = get_channel_layer()
    here = await layer.new_channel()
    await layer.group_add("local.c", here)
    loop_layer = layer._get_layer()
    channel = loop_layer._get_group_channel_name("local.c")
    payload = layer.serialize({"type": "t", "n": 7})
    assert payload[:1] != ORIGIN_MARK
    await loop_layer._get_shard(channel).publish(channel, payload)
    async with asyncio.timeout(3):
        assert (await layer.receive(here))["n"] == 7
    await layer.flush()


async def test_sockets_of_this_process_are_served_while_redis_is_away():
    """Before, every message went through Redis: with it gone, nothing reached anyone."""
    from chat_project.dev import servers

    valkey = servers.start_valkey()
    try:
        layer = _another_process(get_channel_layer(), hosts=[valkey.url])
        here = await layer.new_channel()
        await layer.group_add("local.d", here)
        valkey.stop()
        with pytest.raises(redis.exceptions.ConnectionError):  # for the other processes
            await layer.group_send_many([("local.d", {"type": "t", "n": 9})])
        assert layer.inbox(here).qsize() == 1
        assert (await layer.receive(here))["n"] == 9
    finally:
        valkey.stop()
