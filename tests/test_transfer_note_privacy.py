"""Regression (issue 26): a note given with a transfer to a team's queue reached the
customer. The agent posted ``POST /api/chat/transfer {"room_id", "to_team_id", "note"}``
to a team with nobody free; the customer's ``/ws/chat/`` and ``/socket.io/`` sockets got
``system-message {"kind": "to_team", "note": ...}`` and every replay repeated it, and the
note was not stored as a private note. The same when an admin moved a waiting room to a
team with a note. Every path a customer has into the room is tried here."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async

from agents.tests.test_teams import team
from chat import selectors
from chat.models import EventKind, Room, RoomEvent
from chat.tests.factories import room_open, room_with_agent
from chat.tests.test_consumers import connect, rid  # noqa: F401 (the fixture)
from chat_project.tests.test_socketio_transport import raw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "customer is a fraud"


async def _sio_frames(sock, within: float = 1.0) -> str:
    """Everything a raw Socket.IO socket receives within ``within``, as one text."""
    texts = []
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        async with asyncio.timeout(within):
            while True:
                texts.append(await sock.next(within))
    return "\n".join(texts)


async def _customer_sees_nothing_of_it(connect, room, customer):  # noqa: F811
    """Every later read a customer has: REST replay, sync, join-room replay, history."""
    api_paths = [f"/api/chat/rooms/{rid(room)}/events?after_seq=0"]
    api_paths.append(f"/api/chat/rooms/{rid(room)}/messages")

    def read_rest():
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_login(customer)
        return [client.get(path).content.decode() for path in api_paths]

    texts = await sync_to_async(read_rest)()
    fresh = await connect(customer)
    await fresh.reply("sync", {"rooms": {rid(room): 0}})
    synced = await fresh.expect("chat-history")
    await fresh.request("join-room", {"room_id": rid(room), "after_seq": 0})
    replayed = await fresh.expect("chat-history")
    events = [e["event"] for e in replayed["data"]["events"]]
    assert "system-message" in events  # the move itself is shown, without its note
    for shown in [*texts, str(synced), str(replayed)]:
        assert SECRET not in shown


async def test_an_agents_transfer_to_a_teams_queue_keeps_its_note_private(
    connect,  # noqa: F811
    raw,  # noqa: F811
    customer,
    agent,
    support_admin,
    make_user,
    api_factory,
):
    def given():
        absent = make_user(username="absent", role="agent")  # nobody of the team is free
        night = team("Night", absent)
        return night, room_with_agent(customer, agent)

    night, room = await sync_to_async(given)()
    ws = await connect(customer)
    await ws.request("join-room", {"room_id": rid(room)})
    sio = await raw(customer)
    await sio.handshake()
    await sio.send(f'42["join-room",{{"room_id":"{rid(room)}"}}]')
    await _sio_frames(sio, 0.3)

    def transfer():
        api = api_factory()
        api.force_login(agent)
        return api.post(
            "/api/chat/transfer",
            {"room_id": rid(room), "to_team_id": str(night.pk), "note": SECRET},
        )

    answer = await sync_to_async(transfer)()
    assert answer.status_code == 200, answer.content
    assert answer.json()["queued"] is True
    assert answer.json()["note"] == SECRET  # echoed to the agent who transferred

    live = await ws.expect("system-message")
    assert live["data"]["kind"] == "to_team"
    assert "note" not in live["data"]
    assert SECRET not in str([live, *ws.inbox])
    assert "system-message" in (sio_text := await _sio_frames(sio))
    assert SECRET not in sio_text
    await _customer_sees_nothing_of_it(connect, room, customer)

    # The note is where staff find it: a private note right after the move.
    def stored():
        move = RoomEvent.objects.get(room_id=room.pk, kind=EventKind.SYSTEM)
        notes = selectors.note_list(room_id=rid(room), user=support_admin)["results"]
        return move, notes

    move, notes = await sync_to_async(stored)()
    assert SECRET not in str(move.data)
    assert [(n["seq"], n["text"]) for n in notes] == [(move.seq + 1, SECRET)]
    assert notes[0]["transfer"]["to_team"] == {"id": str(night.pk), "name": "Night"}


async def test_an_admins_move_of_a_waiting_room_keeps_its_note_private(
    connect,  # noqa: F811
    customer,
    support_admin,
    make_user,
    api_factory,
):
    def given():
        night = team("Night", make_user(username="absent", role="agent"))
        room = room_open(customer)  # nobody online: it waits in the general queue
        assert room.status == "queued"
        return night, room

    night, room = await sync_to_async(given)()
    ws = await connect(customer)
    await ws.request("join-room", {"room_id": rid(room)})

    def move():
        api = api_factory()
        api.force_login(support_admin)
        return api.post(
            "/api/chat/transfer",
            {"room_id": rid(room), "to_team_id": str(night.pk), "note": SECRET},
        )

    answer = await sync_to_async(move)()
    assert answer.status_code == 200, answer.content
    live = await ws.expect("system-message")
    assert live["data"]["room"]["team_id"] == str(night.pk)
    assert SECRET not in str([live, *ws.inbox])
    await _customer_sees_nothing_of_it(connect, room, customer)
    notes = await sync_to_async(
        lambda: selectors.note_list(room_id=rid(room), user=support_admin)["results"]
    )()
    assert [n["text"] for n in notes] == [SECRET]
    assert await sync_to_async(lambda: Room.objects.get(pk=room.pk).team_id)() == night.pk


async def test_a_to_team_row_stored_with_a_note_shows_customers_nothing_of_it(
    connect,  # noqa: F811
    customer,
    agent,
):
    """Rooms that already hold a ``to_team`` system row with its note (stored before the
    fix) show the customer nothing of it; staff may still read it there."""

    def stored_before_the_fix():
        room = room_with_agent(customer, agent)
        from chat.writer import Append, steps

        row = RoomEvent(
            room_id=room.pk,
            kind=EventKind.SYSTEM,
            text="Your chat is waiting for the next agent of Night.",
            data={"kind": "to_team", "to_team": {"id": "x", "name": "Night"}, "note": SECRET},
        )
        steps.run(_one(Append(room_id=room.pk, event=row)))
        return room

    room = await sync_to_async(stored_before_the_fix)()
    await _customer_sees_nothing_of_it(connect, room, customer)
    staff = await connect(agent)
    await staff.request("join-room", {"room_id": rid(room), "after_seq": 0})
    replay = await staff.expect("chat-history")
    assert replay["data"]["events"][0]["data"]["note"] == SECRET


def _one(op):
    yield op
