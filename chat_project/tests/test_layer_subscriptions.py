"""Batched subscriptions (``chat_project.patches.channel_layer._Shard``) on the real Valkey:
a burst of channels and groups goes out as a few ``SUBSCRIBE`` commands, changes keep
the order they were asked in, and a failed write fails only its callers."""

from __future__ import annotations

import asyncio

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)


def _commands(name: str) -> int:
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_HOSTS[0])
    try:
        return int(client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0))
    finally:
        client.close()


def _subscribers(channel: str) -> int:
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_HOSTS[0])
    try:
        return int(dict(client.pubsub_numsub(channel))[channel.encode()])
    finally:
        client.close()


async def test_a_burst_of_subscriptions_goes_out_as_a_few_commands_and_every_one_works():
    layer = get_channel_layer()
    before = _commands("subscribe")

    async def socket(n: int) -> str:  # what a handshake asks for
        channel = await layer.new_channel()
        await layer.group_add(f"burst.user.{n}", channel)
        await layer.group_add("burst.everyone", channel)
        return channel

    channels = await asyncio.gather(*(socket(n) for n in range(150)))
    written = _commands("subscribe") - before
    assert 1 <= written <= 10, written  # 450 subscriptions; one command each before
    await layer.group_send("burst.everyone", {"type": "t", "n": 1})
    await layer.group_send("burst.user.7", {"type": "t", "n": 2})
    async with asyncio.timeout(5):
        assert [(await layer.receive(c))["n"] for c in channels] == [1] * 150
        assert (await layer.receive(channels[7]))["n"] == 2
    await layer.flush()


async def test_changes_to_one_group_keep_the_order_they_were_asked_in():
    layer = get_channel_layer()
    first, second = await layer.new_channel(), await layer.new_channel()
    group_channel = layer._get_layer()._get_group_channel_name("order.g")
    # Subscribed, emptied (unsubscribed) and joined again in one burst: subscribed.
    await asyncio.gather(
        layer.group_add("order.g", first),
        layer.group_discard("order.g", first),
        layer.group_add("order.g", second),
    )
    assert await asyncio.to_thread(_subscribers, group_channel) == 1
    await layer.group_send("order.g", {"type": "t", "n": 3})
    async with asyncio.timeout(5):
        assert (await layer.receive(second))["n"] == 3
    # Joined and emptied in one burst: not subscribed.
    other = layer._get_layer()._get_group_channel_name("order.h")
    await asyncio.gather(layer.group_add("order.h", first), layer.group_discard("order.h", first))
    assert await asyncio.to_thread(_subscribers, other) == 0
    await layer.flush()


async def test_a_failed_write_fails_its_callers_only_and_the_next_change_goes_through(
    monkeypatch,
):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    shard = layer._get_layer()._get_shard(layer._get_layer()._get_group_channel_name("fail.g"))
    real_subscribe = shard._pubsub.subscribe
    failures = iter([ConnectionError("Valkey away")])

    async def subscribe_once_failing(*channels):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await real_subscribe(*channels)

    monkeypatch.setattr(shard._pubsub, "subscribe", subscribe_once_failing)
    with pytest.raises(ConnectionError):
        await layer.group_add("fail.g", channel)
    await layer.group_add("fail.g", channel)  # asked again: written this time
    await layer.group_send("fail.g", {"type": "t", "n": 4})
    async with asyncio.timeout(5):
        assert (await layer.receive(channel))["n"] == 4
    await layer.flush()


async def test_a_cancelled_caller_leaves_the_others_in_its_batch_subscribed():
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    adds = [asyncio.ensure_future(layer.group_add("cancel.g", c)) for c in channels]
    adds[0].cancel()
    await asyncio.gather(*adds, return_exceptions=True)
    await layer.group_send("cancel.g", {"type": "t", "n": 5})
    async with asyncio.timeout(5):
        assert [(await layer.receive(c))["n"] for c in channels[1:]] == [5, 5]
    await layer.flush()


async def test_a_burst_of_publishes_arrives_in_the_order_asked():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("publish.g", channel)
    await asyncio.gather(*(layer.group_send("publish.g", {"type": "t", "n": n}) for n in range(60)))
    async with asyncio.timeout(5):
        assert [(await layer.receive(channel))["n"] for _ in range(60)] == list(range(60))
    await layer.flush()
