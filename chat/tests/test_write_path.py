"""The one write path (``chat.writer``, ``chat.services``): what every send, receipt and
room change costs in database commands, that a retry never takes a seq, that changes
written together in one round (group commit) each get their own outcome, and what the
crash points leave behind."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from chat import selectors, services, writer
from chat.exceptions import IdempotencyConflict, RoomClosed
from chat.models import EventKind, Room, RoomEvent, SendKey
from chat.tests.factories import room_with_agent, send, seq_taken_without_event
from chat.timeline import rooms_collection
from chat_project.errors import Conflict, NotFound, PermissionDenied, ServiceUnavailable
from tests.mongo_commands import mongo_commands

pytestmark = pytest.mark.django_db(transaction=True)

ROUND = ("chat_room+chat_roomevent+chat_sendkey", "bulk_write")


def socket_send(room, sender, *, known_seq, text="hi", client_msg_id=None):
    """A send as the gateway makes it for a socket that follows the room."""
    return services.message_send_or_replay(
        room_id=str(room.pk),
        sender=sender,
        client_msg_id=client_msg_id or uuid.uuid4().hex,
        text=text,
        known_seq=known_seq,
    )


def kinds(room) -> list[tuple[int, str]]:
    return list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind"))


def in_thread(fn):
    from django.db import connections

    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return run


@pytest.fixture(autouse=True)
def forgetful_writer():
    """Each test starts with a writer that remembers no room (as a fresh process)."""
    writer.timeline_writer().rooms.clear()
    yield
    writer.timeline_writer().rooms.clear()


# --- commands per change --------------------------------------------------------------------


def test_a_send_in_a_room_the_socket_follows_is_one_command(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    last = send(room, customer)["seq"]
    writer.timeline_writer().rooms.clear()  # only the socket's knowledge is left
    with mongo_commands(monkeypatch) as calls:
        message, created = socket_send(room, customer, known_seq=last)
    assert (created, message["seq"], message["status"]) == (True, last + 1, "sent")
    # send key, seq compare-and-set (with who may post, open room) and event: one round
    assert calls == [ROUND]
    stored = RoomEvent.objects.get(room=room, seq=last + 1)
    assert (stored.kind, stored.text, stored.actor_id) == (EventKind.MESSAGE, "hi", customer.pk)
    assert Room.objects.get(pk=room.pk).last_seq == last + 1


def test_a_rest_send_after_reading_the_room_is_one_command(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    selectors.room_detail(room_id=str(room.pk), user=customer)  # a page, a room read
    with mongo_commands(monkeypatch) as calls:
        message, _created = services.message_send_or_replay(
            room_id=str(room.pk), sender=customer, client_msg_id="rest-1", text="hi"
        )
    assert message["seq"] == 2
    assert calls == [ROUND]


def test_a_send_to_a_room_nobody_here_knows_reads_it_once(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    writer.timeline_writer().rooms.clear()
    with mongo_commands(monkeypatch) as calls:
        services.message_send(room_id=str(room.pk), sender=agent, client_msg_id="x", text="hi")
    assert calls == [("chat_room", "find"), ROUND]


def test_a_stale_known_seq_costs_one_read_and_one_more_round(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    send(room, agent)
    writer.timeline_writer().rooms.clear()
    with mongo_commands(monkeypatch) as calls:
        message, created = socket_send(room, customer, known_seq=0)
    assert (created, message["seq"]) == (True, 3)
    # the compare-and-set misses (after the key went in), the room is read, the round
    # goes again without the key it already holds
    assert calls == [ROUND, ("chat_room", "find"), ("chat_room+chat_roomevent", "bulk_write")]
    assert kinds(room) == [(1, "message"), (2, "message"), (3, "message")]


def test_a_receipt_is_one_command_and_never_moves_back(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    for _ in range(3):
        send(room, customer)
    with mongo_commands(monkeypatch) as calls:
        answer = services.receipt_advance(
            room_id=str(room.pk), user=agent, kind="read", up_to_seq=3
        )
    assert calls == [("chat_room", "bulk_write")]
    assert (answer["last_delivered_seq"], answer["last_read_seq"], answer["moved"]) == (3, 3, True)
    stale = services.receipt_advance(room_id=str(room.pk), user=agent, kind="read", up_to_seq=1)
    assert stale["moved"] is False
    assert Room.objects.get(pk=room.pk).watermark(agent.pk) == (3, 3)


@pytest.mark.parametrize("rows", [4, 8])
def test_send_command_count_does_not_grow_with_the_room(monkeypatch, customer, agent, rows):
    room = room_with_agent(customer, agent)
    for n in range(rows):
        send(room, customer, f"m{n}")
    with mongo_commands(monkeypatch) as calls:
        send(room, customer, "one more")
    assert calls == [ROUND]


# --- retries never take a seq ---------------------------------------------------------------


def test_a_retry_from_another_connection_takes_no_seq(customer, agent):
    room = room_with_agent(customer, agent)
    first, created = socket_send(room, customer, known_seq=0, client_msg_id="c-1")
    again, created_again = socket_send(room, customer, known_seq=1, client_msg_id="c-1")
    assert (created, created_again) == (True, False)
    assert (again["id"], again["seq"]) == (first["id"], first["seq"])
    assert kinds(room) == [(1, "message")]  # no filler: the retry never took a seq
    assert Room.objects.get(pk=room.pk).last_seq == 1


def test_20_concurrent_retries_store_one_message_and_take_one_seq(customer, agent):
    room = room_with_agent(customer, agent)
    barrier = threading.Barrier(20)

    def retry(_n: int) -> dict:
        barrier.wait()
        return send(room, customer, "only once", client_msg_id="same-id")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(in_thread(retry), range(20)))

    assert all(answer == answers[0] for answer in answers)
    assert kinds(room) == [(1, "message")]
    assert Room.objects.get(pk=room.pk).last_seq == 1


def test_a_retry_with_other_text_is_a_conflict_and_takes_no_seq(customer, agent):
    room = room_with_agent(customer, agent)
    socket_send(room, customer, known_seq=0, client_msg_id="c-1", text="hi")
    with pytest.raises(IdempotencyConflict):
        socket_send(room, customer, known_seq=1, client_msg_id="c-1", text="other")
    assert kinds(room) == [(1, "message")]


def test_a_message_sent_before_send_keys_existed_is_still_found(customer, agent):
    # given a message stored by the old path (its event carries the key, no send key)
    room = room_with_agent(customer, agent)
    first = send(room, customer, "old", client_msg_id="legacy")
    SendKey.objects.filter(pk__endswith=":legacy").delete()
    # when it is retried, the event's unique key catches it after the seq was taken
    again = send(room, customer, "old", client_msg_id="legacy")
    assert again["id"] == first["id"]
    send(room, customer, "next")  # the filler goes in with the next round
    assert kinds(room) == [(1, "message"), (2, "noop"), (3, "message")]


def test_a_send_key_left_by_a_crash_is_discarded_and_the_send_goes_through(customer, agent):
    # crash point 1: the key was written, the database died before the seq
    room = room_with_agent(customer, agent)
    key = f"{room.pk}:{customer.pk}:lost"
    SendKey.objects.create(id=key, room_id=room.pk)
    message = send(room, customer, "again", client_msg_id="lost")
    assert message["seq"] == 1
    assert kinds(room) == [(1, "message")]
    assert SendKey.objects.filter(pk=key).exists()


# --- group commit ---------------------------------------------------------------------------


def test_concurrent_sends_share_rounds_and_each_gets_its_own_answer(settings, customer, agent):
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    room = room_with_agent(customer, agent)
    rooms = [room_with_agent(customer, agent, subject=f"r{n}") for n in range(3)]
    rooms.append(room)
    before = writer.timeline_writer().rounds
    barrier = threading.Barrier(24)

    def one(n: int) -> dict:
        barrier.wait()
        target = rooms[n % len(rooms)]
        return send(target, customer if n % 2 else agent, f"m{n}", client_msg_id=f"c{n}")

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(in_thread(one), range(24)))
    rounds = writer.timeline_writer().rounds - before
    assert rounds < 24  # written together
    assert len({a["id"] for a in answers}) == 24
    for target in rooms:
        mine = sorted(a["seq"] for a in answers if a["room_id"] == str(target.pk))
        assert mine == list(range(1, 7))  # per room: 1..6, no gap, no duplicate
        assert kinds(target) == [(seq, "message") for seq in range(1, 7)]


def test_one_refused_change_fails_alone_and_its_round_mates_are_written(settings, customer, agent):
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    open_room = room_with_agent(customer, agent)
    closed_room = room_with_agent(customer, agent, subject="closed")
    services.room_close(room_id=str(closed_room.pk), actor=agent)
    barrier = threading.Barrier(10)

    def one(n: int):
        barrier.wait()
        target = closed_room if n == 5 else open_room
        try:
            return send(target, customer, f"m{n}", client_msg_id=f"c{n}")
        except RoomClosed as exc:
            return exc

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(in_thread(one), range(10)))
    assert isinstance(answers[5], RoomClosed)
    assert sorted(a["seq"] for i, a in enumerate(answers) if i != 5) == list(range(1, 10))
    assert [kind for _, kind in kinds(closed_room)] == ["closed"]


# --- who may write, and what refuses ----------------------------------------------------------


def test_nobody_posts_in_a_closed_room(customer, agent):
    room = room_with_agent(customer, agent)
    last = send(room, customer)["seq"]
    services.room_close(room_id=str(room.pk), actor=agent)
    with pytest.raises(RoomClosed):
        socket_send(room, customer, known_seq=last + 1, client_msg_id="late")
    # the refused send's key is discarded in the writer's next round
    deadline = time.monotonic() + 5
    while SendKey.objects.filter(pk__endswith=":late").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not SendKey.objects.filter(pk__endswith=":late").exists()


def test_an_agent_loses_the_room_at_the_transfer(customer, agent, other_agent):
    room = room_with_agent(customer, agent)
    last = send(room, agent)["seq"]
    Room.objects.filter(pk=room.pk).update(agent=other_agent)
    with pytest.raises(NotFound):
        socket_send(room, agent, known_seq=last)
    assert RoomEvent.objects.filter(room=room).count() == 1


def test_admins_read_rooms_but_post_nothing(customer, agent, support_admin):
    admin = support_admin
    room = room_with_agent(customer, agent)
    send(room, customer)
    with pytest.raises(PermissionDenied):
        send(room, admin, "hello")
    with pytest.raises(PermissionDenied):
        services.receipt_advance(room_id=str(room.pk), user=admin, kind="read", up_to_seq=1)
    with pytest.raises(NotFound):
        send(Room(pk=ObjectId()), admin, "nowhere")


def test_a_send_to_a_room_that_does_not_exist_creates_nothing(customer, agent):
    ghost = Room(pk=ObjectId())
    with pytest.raises(NotFound):
        socket_send(ghost, customer, known_seq=3)
    send(room_with_agent(customer, agent), customer)  # a later round runs the clean-up
    assert rooms_collection().find_one({"_id": ghost.pk}) is None
    assert RoomEvent.objects.filter(room_id=ghost.pk).count() == 0


def test_an_agents_first_reply_is_recorded_once(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    send(room, agent)
    recorded = Room.objects.get(pk=room.pk).first_agent_reply_at
    writer.timeline_writer().rooms.clear()  # a process that does not know it is recorded
    socket_send(room, agent, known_seq=2)
    assert recorded is not None
    assert Room.objects.get(pk=room.pk).first_agent_reply_at == recorded


def test_a_receipt_beyond_the_rooms_end_is_capped(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    answer = services.receipt_advance(room_id=str(room.pk), user=agent, kind="read", up_to_seq=99)
    assert (answer["last_delivered_seq"], answer["last_read_seq"]) == (1, 1)


# --- edits and deletes racing ---------------------------------------------------------------


def test_an_edit_whose_message_was_deleted_meanwhile_fills_its_seq(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "draft")
    stale = selectors.message_get_in_room(room=room, message_id=message["id"])
    services.message_delete(room_id=str(room.pk), message_id=message["id"], actor=customer)
    monkeypatch.setattr(selectors, "message_get_in_room", lambda **_kw: stale)
    with pytest.raises(Conflict):
        services.message_edit(
            room_id=str(room.pk), message_id=message["id"], actor=customer, text="late"
        )
    assert kinds(room) == [(1, "message"), (2, "message_deleted"), (3, "noop")]


def test_concurrent_deletes_write_one_tombstone(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "draft")
    stale = selectors.message_get_in_room(room=room, message_id=message["id"])
    first = services.message_delete(room_id=str(room.pk), message_id=message["id"], actor=customer)
    monkeypatch.setattr(selectors, "message_get_in_room", lambda **_kw: stale)
    second = services.message_delete(room_id=str(room.pk), message_id=message["id"], actor=customer)
    assert first["seq"] == second["seq"] == 2
    assert kinds(room) == [(1, "message"), (2, "message_deleted"), (3, "noop")]


# --- failures of the database -----------------------------------------------------------------


def test_a_lost_connection_is_service_unavailable_and_the_retry_finds_the_message(
    monkeypatch, customer, agent
):
    from pymongo.synchronous.mongo_client import MongoClient

    room = room_with_agent(customer, agent)
    real = MongoClient.bulk_write

    def applied_then_lost(self, *args, **kwargs):  # written, but the reply never came
        real(self, *args, **kwargs)
        raise AutoReconnect("connection closed")

    monkeypatch.setattr(MongoClient, "bulk_write", applied_then_lost)
    with pytest.raises(ServiceUnavailable):
        send(room, customer, "hi", client_msg_id="once")
    monkeypatch.setattr(MongoClient, "bulk_write", real)
    again, created = services.message_send_or_replay(
        room_id=str(room.pk), sender=customer, client_msg_id="once", text="hi"
    )
    assert (created, again["seq"]) == (False, 1)
    assert kinds(room) == [(1, "message")]


def test_a_caller_waits_at_most_the_write_timeout(stalled_database, customer, agent):
    room = room_with_agent(customer, agent)
    try:
        with pytest.raises(ServiceUnavailable):
            send(room, customer, "hi", client_msg_id="slow")
    finally:
        stalled_database()
    again = send(room, customer, "hi", client_msg_id="slow")  # written late, found now
    assert again["seq"] == 1
    assert kinds(room) == [(1, "message")]


# --- holes --------------------------------------------------------------------------------


def test_a_settled_hole_gets_a_filler_at_replay(settings, customer, agent):
    settings.CHAT_HOLE_SETTLE_SECONDS = 0
    room = room_with_agent(customer, agent)
    send(room, customer, "before")
    hole = seq_taken_without_event(room)
    send(room, customer, "after")
    replay = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0)
    assert [e["data"]["seq"] for e in replay["events"]] == [1, 3]
    assert kinds(room) == [(1, "message"), (hole, "noop"), (3, "message")]


def test_a_fresh_hole_is_left_for_a_round_still_on_its_way(settings, customer, agent):
    settings.CHAT_HOLE_SETTLE_SECONDS = 60
    room = room_with_agent(customer, agent)
    send(room, customer, "before")
    seq_taken_without_event(room)
    selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0)
    assert kinds(room) == [(1, "message")]
