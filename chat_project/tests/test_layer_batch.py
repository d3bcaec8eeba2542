"""``group_send_many``: a batch of group messages reaches every member, in order, through
the real Valkey (one pipeline per shard instead of one locked round trip each)."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

from chat_project import fanout
from chat_project.patches.channel_layer import PubSubChannelLayer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_batch_reaches_each_group_in_order():
    layer = get_channel_layer()
    assert isinstance(layer, PubSubChannelLayer)
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("batch.a", first)
    await layer.group_add("batch.b", second)
    await layer.group_add("batch.b", first)
    batch = [(f"batch.{'ab'[i % 2]}", {"type": "t", "n": i}) for i in range(40)]
    await layer.group_send_many(batch)
    got_first = [(await layer.receive(first))["n"] for _ in range(40)]
    got_second = [(await layer.receive(second))["n"] for _ in range(20)]
    assert got_first == list(range(40))  # both groups, in the order sent
    assert got_second == list(range(1, 40, 2))
    await layer.flush()


async def test_the_fanout_sender_batches_what_queued_up(monkeypatch):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("batch.c", channel)
    batches: list[int] = []
    send_many = layer.group_send_many

    async def counting(messages):
        batches.append(len(messages))
        await send_many(messages)

    monkeypatch.setattr(layer, "group_send_many", counting)
    for n in range(30):  # queued in one go: the sender takes them as one batch
        fanout.publish_from_loop("batch.c", {"type": "t", "n": n})
    assert [(await layer.receive(channel))["n"] for _ in range(30)] == list(range(30))
    assert sum(batches) == 30
    assert len(batches) <= 2
    await layer.flush()
