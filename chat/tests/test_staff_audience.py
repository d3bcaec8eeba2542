"""Notes, tags and ratings on the socket (issue 16): each to the right audience only.

A room's channel-layer group holds its customer's sockets too, so every staff-only event
is published with the ``staff`` audience and the gateway drops it for a customer, stepping
over its seq so that no gap repair goes looking for it. Every socket path a customer has
into a room is tried here with a note present: live, ``join-room`` (page and replay),
``sync``, gap repair, and the client events that take an id."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chat import async_services, services
from chat.tests import test_consumers
from chat.tests.factories import send

# The gateway tests' fixtures (a socket per user; alice's room with agent1).
connect, room, rid = test_consumers.connect, test_consumers.room, test_consumers.rid

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "zebrafish-credit-note"
STAFF_EVENTS = ("note-added", "note-updated", "note-deleted", "room-tagged", "room-untagged")


@pytest.fixture
def repairs(monkeypatch):
    """The rooms the gateway repaired a gap of (read from the database)."""
    calls: list[str] = []
    original = async_services.room_replay

    async def spy(**kwargs):
        calls.append(kwargs["room_id"])
        return await original(**kwargs)

    monkeypatch.setattr(async_services, "room_replay", spy)
    return calls


async def test_notes_and_tags_reach_staff_sockets_only(
    connect, room, customer, agent, settings, repairs
):
    settings.WS_GAP_REPAIR_SECONDS = 0.1
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    added = await agent_sock.request("add-note", {"room_id": rid(room), "text": SECRET})
    note = added["data"]["note"]
    assert (note["seq"], note["text"]) == (1, SECRET)
    await agent_sock.request(
        "edit-note", {"room_id": rid(room), "note_id": note["id"], "text": SECRET + "!"}
    )
    await agent_sock.request("tag-room", {"room_id": rid(room), "tag": "Billing"})
    await agent_sock.request("untag-room", {"room_id": rid(room), "tag": "billing"})
    await agent_sock.request("delete-note", {"room_id": rid(room), "note_id": note["id"]})
    for name in STAFF_EVENTS:
        frame = await agent_sock.expect(name)
        assert frame["data"]["room_id"] == rid(room)
    await sync_to_async(send)(room, agent, "after the notes")
    live = await alice.expect("new-message")
    assert live["data"]["seq"] == 6
    for name in STAFF_EVENTS:
        await alice.nothing(name, within=0.05)
    await alice.nothing("new-message", within=0.3)  # past WS_GAP_REPAIR_SECONDS
    assert repairs == []  # no repair went looking for seqs 1-5
    assert SECRET not in str(alice.inbox)


async def test_a_customers_join_and_sync_leave_staff_events_out(connect, room, customer, agent):
    await sync_to_async(send)(room, customer, "hello")
    await sync_to_async(services.note_add)(room_id=rid(room), author=agent, text=SECRET)
    await sync_to_async(services.room_tag)(room_id=rid(room), actor=agent, tag="vip")
    await sync_to_async(send)(room, agent, "hi")
    alice = await connect(customer)
    await alice.request("join-room", {"room_id": rid(room)})
    page = (await alice.expect("chat-history"))["data"]
    assert ([m["text"] for m in page["messages"]], page["last_seq"]) == (["hello", "hi"], 4)
    await alice.request("join-room", {"room_id": rid(room), "after_seq": 0})
    replay = (await alice.expect("chat-history"))["data"]
    assert [e["event"] for e in replay["events"]] == ["new-message", "new-message"]
    await alice.reply("sync", {"rooms": {rid(room): 1}})
    synced = (await alice.expect("chat-history"))["data"]
    assert ([e["data"]["seq"] for e in synced["events"]], synced["last_seq"]) == ([4], 4)
    assert SECRET not in str([page, replay, synced])
    # The agent's replay has them all.
    agent_sock = await connect(agent)
    await agent_sock.request("join-room", {"room_id": rid(room), "after_seq": 0})
    staff = (await agent_sock.expect("chat-history"))["data"]
    assert [e["event"] for e in staff["events"]] == [
        "new-message",
        "note-added",
        "room-tagged",
        "new-message",
    ]


async def test_a_customer_socket_can_neither_write_nor_reach_a_note(connect, room, customer, agent):
    note = await sync_to_async(services.note_add)(room_id=rid(room), author=agent, text=SECRET)
    alice = await connect(customer)
    await alice.request("join-room", {"room_id": rid(room)})
    attempts = {
        "add-note": ({"room_id": rid(room), "text": "x"}, "permission_denied"),
        "edit-note": (
            {"room_id": rid(room), "note_id": note["id"], "text": "x"},
            "permission_denied",
        ),
        "delete-note": ({"room_id": rid(room), "note_id": note["id"]}, "permission_denied"),
        "tag-room": ({"room_id": rid(room), "tag": "x"}, "permission_denied"),
        "edit-message": (
            {"room_id": rid(room), "message_id": note["id"], "text": "x"},
            "not_found",
        ),
        "delete-message": ({"room_id": rid(room), "message_id": note["id"]}, "not_found"),
        "message-read": ({"room_id": rid(room), "message_id": note["id"]}, "not_found"),
    }
    for event, (data, code) in attempts.items():
        answer = await alice.reply(event, data)
        assert (answer["event"], answer["data"]["code"]) == ("error", code), event
    assert SECRET not in str(alice.inbox)


async def test_a_rating_reaches_the_rooms_agent_not_the_customers_sockets(
    connect, room, customer, agent
):
    alice, agent_sock = await connect(customer), await connect(agent)
    other_tab = await connect(agent, name="agent-tab2")  # in no room: the user group
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await sync_to_async(services.room_close)(room_id=rid(room), actor=agent)
    await alice.expect("room-closed")
    rated = await alice.request("rate-room", {"room_id": rid(room), "score": 5, "comment": "Great"})
    assert rated["data"]["rating"]["score"] == 5
    for sock in (agent_sock, other_tab):
        frame = await sock.expect("room-rated")
        assert frame["data"]["rating"] == rated["data"]["rating"]
    await alice.nothing("room-rated")
    again = await alice.reply("rate-room", {"room_id": rid(room), "score": 1})
    assert again["data"]["code"] == "already_rated"
    by_agent = await agent_sock.reply("rate-room", {"room_id": rid(room), "score": 1})
    assert by_agent["data"]["code"] == "permission_denied"
