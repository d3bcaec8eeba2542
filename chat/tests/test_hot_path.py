"""The socket hot path: a send with a :class:`SendHint` and a receipt with ``known``
watermarks skip the room read, and every case the hint cannot decide (stale seq,
closed room, lost access, a retry, a receipt past the room's end) falls back to the
reading path with the same outcome as without a hint."""

from __future__ import annotations

import uuid

import pytest

from chat import services
from chat.exceptions import RoomClosed
from chat.models import EventKind, Room, RoomEvent
from chat.services import SendHint
from chat.tests.factories import room_with_agent, send
from chat_project.errors import NotFound, PermissionDenied
from tests.mongo_commands import mongo_commands

pytestmark = pytest.mark.django_db(transaction=True)


def hinted_send(room, sender, *, last_seq, text="hi", client_msg_id=None, agent_replied=False):
    return services.message_send_or_replay(
        room_id=str(room.pk),
        sender=sender,
        client_msg_id=client_msg_id or uuid.uuid4().hex,
        text=text,
        hint=SendHint(last_seq=last_seq, agent_replied=agent_replied),
    )


def kinds(room) -> list[tuple[int, str]]:
    return list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind"))


def test_a_true_hint_sends_in_two_commands(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    last = send(room, customer)["seq"]
    with mongo_commands(monkeypatch) as calls:
        message, created = hinted_send(room, customer, last_seq=last)
    assert (created, message["seq"], message["status"]) == (True, last + 1, "sent")
    assert [name for _collection, name in calls] == ["update_one", "insert_one"]
    stored = RoomEvent.objects.get(room=room, seq=last + 1)
    assert (stored.kind, stored.text, stored.actor_id) == (EventKind.MESSAGE, "hi", customer.pk)
    assert Room.objects.get(pk=room.pk).last_seq == last + 1


def test_a_hinted_send_stores_what_the_reading_path_stores(customer, agent):
    """The same document either way (every field the model writes, e.g. search terms)."""
    from chat.timeline import events_collection

    room = room_with_agent(customer, agent)
    slow = send(room, customer, "same words here", client_msg_id="slow")
    fast, _created = hinted_send(
        room, customer, last_seq=slow["seq"], text="same words here", client_msg_id="fast"
    )
    docs = [
        events_collection().find_one({"room_id": room.pk, "seq": m["seq"]}) for m in [slow, fast]
    ]
    varying = {"_id", "id", "seq", "created_at", "client_msg_id", "idem_key"}

    def same_part(row):
        return {k: v for k, v in row.items() if k not in varying}

    assert docs[0].keys() == docs[1].keys()
    assert same_part(docs[0]) == same_part(docs[1])
    assert same_part(slow) == same_part(fast)


def test_a_stale_hint_reads_the_room_once_and_still_sends_once(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    send(room, agent)
    with mongo_commands(monkeypatch) as calls:
        message, created = hinted_send(room, customer, last_seq=0)
    assert (created, message["seq"]) == (True, 3)
    # find_one calls find underneath: one command.
    expected = ["update_one", "find_one", "find", "update_one", "insert_one"]
    assert [name for _collection, name in calls] == expected
    assert kinds(room) == [(1, "message"), (2, "message"), (3, "message")]


def test_a_retry_with_a_hint_answers_the_stored_message(customer, agent):
    room = room_with_agent(customer, agent)
    first, created = hinted_send(room, customer, last_seq=0, client_msg_id="c-1")
    again, created_again = hinted_send(room, customer, last_seq=first["seq"], client_msg_id="c-1")
    assert (created, created_again) == (True, False)
    assert (again["id"], again["seq"]) == (first["id"], first["seq"])
    # The retry consumed a seq: it is filled, so the timeline stays gap-free.
    assert kinds(room) == [(1, "message"), (2, "noop")]


def test_a_hint_does_not_let_anyone_post_in_a_closed_room(customer, agent):
    room = room_with_agent(customer, agent)
    last = send(room, customer)["seq"]
    services.room_close(room_id=str(room.pk), actor=agent)
    with pytest.raises(RoomClosed):
        hinted_send(room, customer, last_seq=last + 1)


def test_a_hint_does_not_outlive_a_transfer(customer, agent, other_agent):
    room = room_with_agent(customer, agent)
    last = send(room, agent)["seq"]
    Room.objects.filter(pk=room.pk).update(agent=other_agent)
    with pytest.raises((PermissionDenied, NotFound)):
        hinted_send(room, agent, last_seq=last, agent_replied=True)
    assert RoomEvent.objects.filter(room=room).count() == 1


def test_an_agents_first_reply_is_recorded_in_the_seq_update(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    last = send(room, customer)["seq"]
    with mongo_commands(monkeypatch) as calls:
        hinted_send(room, agent, last_seq=last)  # not known to be recorded yet
    assert [name for _collection, name in calls] == ["update_one", "insert_one"]
    recorded = Room.objects.get(pk=room.pk).first_agent_reply_at
    assert recorded is not None
    # Already recorded, but this socket does not know: recorded once, never moved.
    message, _created = hinted_send(room, agent, last_seq=last + 1)
    assert message["seq"] == last + 2
    assert Room.objects.get(pk=room.pk).first_agent_reply_at == recorded


# --- receipts ------------------------------------------------------------------------------


def receipt(room, user, *, kind, up_to_seq, known):
    return services.receipt_marks_advance(
        room_id=str(room.pk),
        user=user,
        delivered=up_to_seq,
        read=up_to_seq if kind == "read" else None,
        known=known,
    )


def test_a_receipt_with_known_marks_is_one_command(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    for _ in range(3):
        send(room, customer)
    with mongo_commands(monkeypatch) as calls:
        answer = receipt(room, agent, kind="read", up_to_seq=2, known=(0, 0))
    assert [name for _collection, name in calls] == ["update_one"]
    assert (answer["moved"], answer["last_read_seq"]) == (True, 2)
    assert Room.objects.get(pk=room.pk).watermark(agent.pk) == (2, 2)


def test_a_receipt_already_known_costs_no_command(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    with mongo_commands(monkeypatch) as calls:
        answer = receipt(room, agent, kind="delivered", up_to_seq=1, known=(1, 0))
    assert (calls, answer["moved"]) == ([], False)


def test_a_receipt_past_the_end_is_capped_through_the_reading_path(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    answer = receipt(room, agent, kind="read", up_to_seq=50, known=(0, 0))
    assert (answer["last_delivered_seq"], answer["last_read_seq"]) == (1, 1)
    assert Room.objects.get(pk=room.pk).watermark(agent.pk) == (1, 1)


def test_known_marks_do_not_grant_access(customer, agent, other_customer):
    room = room_with_agent(customer, agent)
    send(room, customer)
    with pytest.raises(NotFound):
        receipt(room, other_customer, kind="read", up_to_seq=1, known=(0, 0))
    assert Room.objects.get(pk=room.pk).watermark(other_customer.pk) == (0, 0)


# --- routing's claim -----------------------------------------------------------------------


def test_a_claim_from_a_fresh_queue_read_does_not_read_the_room_again(
    monkeypatch, customer, other_customer, agent
):
    from chat import assignment
    from chat.tests.factories import room_open

    queued = room_open(customer)
    with mongo_commands(monkeypatch) as calls:
        payload = assignment.room_assign(
            room_id=queued.pk, agent=agent, reason="test", queued=queued, known=[customer]
        )
    assert payload["room"]["agent"]["id"] == str(agent.pk)
    assert [name for collection, name in calls if collection == "chat_room"] == ["update_one"]
    # A stale read of the queue: the claim reads the room and still takes the next seq.
    stale = room_open(other_customer)
    Room.objects.filter(pk=stale.pk).update(last_seq=5)
    assert assignment.room_assign(room_id=stale.pk, agent=agent, reason="test", queued=stale)
    assert Room.objects.get(pk=stale.pk).last_seq == 6
