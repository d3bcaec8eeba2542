"""Lossless resume: a client that was away, or whose fan-out was lost, ends with exactly
the server's history after ``sync``."""

from __future__ import annotations

import asyncio
import random

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.timeline import RoomView, stored_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def _hundred_events(
    agent1, room_id: str, rng: random.Random, alice_messages: list[str], admin=None
) -> int:
    """Messages, edits, deletes and receipts by the agent (and an admin's deletes of the
    customer's messages): 100 in all, each acked after its write."""
    mine: list[str] = []
    done = 0
    for i in range(100):
        roll = rng.random()
        if roll < 0.5 or not mine:
            data = {"room_id": room_id, "client_msg_id": f"agent-{i}", "text": f"reply {i}"}
            mine.append((await agent1.call("send-message", data))["message"]["id"])
        elif roll < 0.7:
            data = {"room_id": room_id, "message_id": rng.choice(mine), "text": f"edit {i}"}
            reply = await agent1.request("edit-message", data)
            assert reply["event"] == "ack" or reply["data"]["code"] == "conflict"  # deleted
        elif roll < 0.8:
            victim = mine.pop(rng.randrange(len(mine)))
            await agent1.call("delete-message", {"room_id": room_id, "message_id": victim})
        elif roll < 0.85 and alice_messages and admin is not None:
            victim = alice_messages.pop()
            await admin(room_id=room_id, message_id=victim)
        else:
            kind = rng.choice(["message-delivered", "message-read"])
            await agent1.call(kind, {"room_id": room_id, "up_to_seq": 1 + i})
        done += 1
    return done


async def test_resume_after_100_missed_events(
    server, ws, make_room, customer, agent, support_admin
):
    from chat import services

    room_id = await make_room(customer, agent)
    alice = await ws(server, customer, name="alice")
    agent1 = await ws(server, agent, name="agent1")
    await alice.call("join-room", {"room_id": room_id})
    await agent1.call("join-room", {"room_id": room_id})
    alice_messages = []
    for i in range(4):
        data = {"room_id": room_id, "client_msg_id": f"alice-{i}", "text": f"question {i}"}
        alice_messages.append((await alice.call("send-message", data))["message"]["id"])
    await alice.expect("new-message", where=lambda f: f["data"]["seq"] == 4)
    view = RoomView(room_id)
    for frame in alice.seen:
        view.apply(frame)
    await alice.close()

    def admin_delete(*, room_id: str, message_id: str) -> None:
        services.message_delete(room_id=room_id, message_id=message_id, actor=support_admin)

    assert (
        await _hundred_events(
            agent1, room_id, random.Random(7), alice_messages, sync_to_async(admin_delete)
        )
        == 100
    )

    back = await ws(server, customer, name="alice-back")
    ack = await back.call("sync", {"rooms": {room_id: view.last_seq}})
    replay = await back.expect("chat-history")
    seqs = [item["data"]["seq"] for item in replay["data"]["events"]]
    assert seqs == sorted(seqs)
    assert seqs[0] > 4
    assert len(seqs) == len(set(seqs))
    view.apply(replay)
    stored = await sync_to_async(stored_state)(room_id)
    assert view.state() == stored
    assert ack["rooms"][room_id]["last_seq"] == stored["last_seq"]

    # ... and live continues from there, with no gap and no duplicate.
    await agent1.call(
        "send-message", {"room_id": room_id, "client_msg_id": "after", "text": "still here?"}
    )
    live = await back.expect("new-message")
    assert live["data"]["seq"] == stored["last_seq"] + 1
    await back.quiet_for(0.3, "new-message")


async def test_lossy_fan_out_then_sync_misses_nothing(lossy_server, ws, make_room, customer, agent):
    """10% of room fan-out is dropped (and the gateway's own gap repair is off on this
    server): what live delivery missed, ``sync`` from the client's last contiguous seq
    brings back."""
    room_id = await make_room(customer, agent)
    alice = await ws(lossy_server, customer, name="alice")
    agent1 = await ws(lossy_server, agent, name="agent1")
    await alice.call("join-room", {"room_id": room_id})
    await agent1.call("join-room", {"room_id": room_id})
    await _hundred_events(agent1, room_id, random.Random(11), [])
    for i in range(20):  # and the customer's own, seen by her other tab... or lost
        data = {"room_id": room_id, "client_msg_id": f"alice-{i}", "text": f"note {i}"}
        await alice.call("send-message", data)
    await asyncio.sleep(0.5)  # let the surviving live events arrive

    view = RoomView(room_id)
    for frame in alice.seen:
        view.apply(frame)
    stored = await sync_to_async(stored_state)(room_id)
    seen = set(view.seqs)
    contiguous = 0
    while contiguous + 1 in seen:
        contiguous += 1
    assert view.state() != stored, "nothing was dropped: the test proves nothing"

    await alice.call("sync", {"rooms": {room_id: contiguous}})
    view.apply(await alice.expect("chat-history", where=lambda f: "events" in f["data"]))
    assert view.state() == stored


async def test_a_replay_larger_than_a_frame_arrives_in_several(
    server, ws, make_room, customer, agent
):
    from chat import services

    # given 60 long messages (~5 KB each) the agent missed: ~300 KB, above the 128 KB cap
    room_id = await make_room(customer, agent)
    for n in range(60):
        await sync_to_async(services.message_send)(
            room_id=room_id, sender=customer, client_msg_id=f"long-{n}", text="x" * 4900
        )
    agent1 = await ws(server, agent, name="agent1")
    # when it syncs from the start
    await agent1.call("sync", {"rooms": {room_id: 0}})
    await agent1.expect("chat-history", where=lambda f: f["data"].get("more") is False)
    frames = [f for f in agent1.seen if f["event"] == "chat-history"]
    # then the replay came in several frames, in order, with nothing missing
    assert len(frames) > 1
    assert [f["data"]["more"] for f in frames] == [True] * (len(frames) - 1) + [False]
    seqs = [e["data"]["seq"] for f in frames for e in f["data"]["events"]]
    assert seqs == list(range(1, 61))
    assert frames[-1]["data"]["last_seq"] == 60
