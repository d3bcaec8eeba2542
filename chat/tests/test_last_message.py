"""A room's newest message kept on the room (issue 27: room lists read no message per
room): written by the send's own compare-and-set, kept by an edit or delete of that
message, never a note, shown to a viewer as ``chat.render`` decides."""

from __future__ import annotations

import pytest

from chat import selectors, services
from chat.models import Room
from chat.tests.factories import room_with_agent, send
from chat.writer import timeline_writer

pytestmark = pytest.mark.django_db


def newest(room) -> dict | None:
    return Room.objects.get(pk=room.pk).last_message


def test_every_send_sets_it_in_its_own_round(customer, agent):
    room = room_with_agent(customer, agent)
    assert newest(room) is None
    rounds = timeline_writer().rounds
    first = send(room, customer, "hello")
    assert timeline_writer().rounds == rounds + 1  # no command of its own
    assert newest(room) == {
        "id": first["id"],
        "seq": 1,
        "sender_id": str(customer.pk),
        "text": "hello",
        "created_at": first["created_at"],
        "deleted": False,
    }
    second = send(room, agent, "hi")
    assert (newest(room)["id"], newest(room)["seq"]) == (second["id"], 2)


def test_an_edit_or_delete_of_the_newest_message_keeps_it_true(customer, agent, support_admin):
    room = room_with_agent(customer, agent)
    older = send(room, customer, "first")
    latest = send(room, customer, "second")
    rid = str(room.pk)
    services.message_edit(room_id=rid, message_id=older["id"], actor=customer, text="first!")
    assert newest(room)["text"] == "second"  # not the newest: untouched
    services.message_edit(room_id=rid, message_id=latest["id"], actor=customer, text="second!")
    assert (newest(room)["id"], newest(room)["text"]) == (latest["id"], "second!")
    services.note_add(room_id=rid, author=agent, text="a private note")
    assert newest(room)["id"] == latest["id"]  # notes are not messages
    services.message_delete(room_id=rid, message_id=latest["id"], actor=customer)
    assert newest(room)["deleted"] is True
    shown = {
        user.username: selectors.room_detail(room_id=rid, user=user)["last_message"]["text"]
        for user in (customer, agent, support_admin)
    }
    assert shown == {"alice": "", "agent1": "", "admin": "second!"}  # the admin's audit


def test_room_lists_show_it_without_a_read_per_room(make_user, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def list_costs(rooms: int) -> tuple[int, list]:
        for n in range(rooms):
            customer = make_user(username=f"c{rooms}-{n}", role="user")
            send(room_with_agent(customer, agent), customer, f"from {customer.username}")
        with CaptureQueriesContext(connection) as queries:
            page = selectors.room_list(user=agent, limit=100)
        return len(queries), page["results"]

    few, shown = list_costs(2)
    many, shown = list_costs(4)
    assert few == many  # no read per room
    assert sorted(r["last_message"]["text"] for r in shown)[:2] == ["from c2-0", "from c2-1"]
