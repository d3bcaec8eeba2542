"""chat.services against the embedded MongoDB: the timeline's seq, exactly-once send,
edits and deletes, receipts, closing, and what gets published."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from chat import events, selectors, services
from chat.exceptions import IdempotencyConflict, RoomClosed
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat.render import Audience
from chat.tests.factories import room_open, room_with_agent, send, seq_taken_without_event
from chat.timeline import events_collection
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(fn):
    """Each thread has its own DB connection; close it when the thread's work ends."""

    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return run


def timeline(room) -> list[tuple[int, str]]:
    return list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind"))


# --- seq -----------------------------------------------------------------------------------


def test_50_concurrent_sends_get_seq_exactly_1_to_50(customer, agent):
    # given a room with a customer and an agent
    room = room_with_agent(customer, agent)

    # when 50 sends race from 10 threads, half from each participant
    def one(n: int) -> dict:
        return send(room, customer if n % 2 else agent, f"message {n}", client_msg_id=f"c{n}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(in_thread(one), range(50)))

    # then the seqs are 1..50: no duplicates, no gaps, and each answer has its own
    assert sorted(a["seq"] for a in answers) == list(range(1, 51))
    assert timeline(room) == [(seq, "message") for seq in range(1, 51)]
    assert Room.objects.get(pk=room.pk).last_seq == 50


def test_same_client_msg_id_with_other_text_is_idempotency_conflict(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "hi", client_msg_id="m-1")
    with pytest.raises(IdempotencyConflict):
        send(room, customer, "something else", client_msg_id="m-1")
    assert timeline(room) == [(1, "message")]
    assert Room.objects.get(pk=room.pk).last_seq == 1


def test_retry_after_an_edit_still_returns_the_message(customer, agent):
    room = room_with_agent(customer, agent)
    first = send(room, customer, "hi", client_msg_id="m-1")
    services.message_edit(
        room_id=str(room.pk), message_id=first["id"], actor=customer, text="hi again"
    )
    again = send(room, customer, "hi", client_msg_id="m-1")
    assert again["id"] == first["id"]
    assert again["seq"] == 1


def test_client_msg_ids_are_per_sender(customer, agent):
    room = room_with_agent(customer, agent)
    a = send(room, customer, "from customer", client_msg_id="1")
    b = send(room, agent, "from agent", client_msg_id="1")
    assert (a["seq"], b["seq"]) == (1, 2)


@pytest.mark.parametrize(
    ("text", "client_msg_id"),
    [
        ("", "ok"),
        ("   \n ", "ok"),
        ("x" * 5001, "ok"),
        (5, "ok"),
        (None, "ok"),
        ("hi", ""),
        ("hi", "x" * 65),
        ("hi", 7),
    ],
)
def test_bad_send_input_is_validation_error_and_stores_nothing(
    customer, agent, text, client_msg_id
):
    room = room_with_agent(customer, agent)
    with pytest.raises(ValidationFailed):
        services.message_send(
            room_id=str(room.pk), sender=customer, client_msg_id=client_msg_id, text=text
        )
    assert timeline(room) == []
    assert Room.objects.get(pk=room.pk).last_seq == 0


def test_text_is_stored_raw(customer, agent):
    room = room_with_agent(customer, agent)
    raw = "  <b>bold</b> & 'quotes'  "
    answer = send(room, customer, raw)
    assert answer["text"] == raw
    assert RoomEvent.objects.get(pk=answer["id"]).text == raw


def test_message_max_chars_is_configurable(customer, agent, settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 10
    room = room_with_agent(customer, agent)
    send(room, customer, "x" * 10)
    with pytest.raises(ValidationFailed):
        send(room, customer, "x" * 11)


def test_agent_first_reply_is_stamped_once_without_a_third_write(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "hi")
    assert Room.objects.get(pk=room.pk).first_agent_reply_at is None
    send(room, agent, "hello")
    stamped = Room.objects.get(pk=room.pk).first_agent_reply_at
    assert stamped is not None
    send(room, agent, "anything else?")
    assert Room.objects.get(pk=room.pk).first_agent_reply_at == stamped


def test_only_participants_send(customer, agent, other_agent, support_admin, other_customer):
    room = room_with_agent(customer, agent)
    with pytest.raises(PermissionDenied):
        send(room, support_admin, "admin voice")
    for outsider in (other_agent, other_customer):
        with pytest.raises(NotFound):
            send(room, outsider, "let me in")
    assert timeline(room) == []


def test_a_queued_room_takes_customer_messages(customer):
    room = room_open(customer)
    answer = send(room, customer, "anyone?")
    assert answer["seq"] == 1
    assert answer["status"] == "sent"


# --- publishing ----------------------------------------------------------------------------


def test_send_publishes_new_message_after_the_write(customer, agent, published):
    room = room_with_agent(customer, agent)
    answer = send(room, customer, "hi")
    group, message = published[-1]
    assert group == f"room.{room.pk}"
    assert message["type"] == "room.event"
    assert message["event"] == "new-message"
    assert message["seq"] == 1
    assert message["room_id"] == str(room.pk)
    assert message["data"] == {"room_id": str(room.pk), "seq": 1, "message": answer}


def test_a_replayed_retry_publishes_nothing(customer, agent, published):
    room = room_with_agent(customer, agent)
    send(room, customer, "hi", client_msg_id="a")
    count = len(published)
    send(room, customer, "hi", client_msg_id="a")
    assert len(published) == count


def test_event_shapes_for_edit_delete_receipt_close(customer, agent, published):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "hi")
    rid = str(room.pk)
    edit = services.message_edit(room_id=rid, message_id=message["id"], actor=customer, text="yo")
    delete = services.message_delete(room_id=rid, message_id=message["id"], actor=customer)
    services.receipt_advance(room_id=rid, user=agent, kind="read", up_to_seq=3)
    closed = services.room_close(room_id=rid, actor=agent)

    names = [(m["event"], m["seq"]) for _, m in published[1:]]
    assert names == [
        ("message-updated", 2),
        ("message-deleted", 3),
        ("message-status-updated", None),
        ("room-closed", 4),
    ]
    updated, deleted, status, room_closed = (
        events.room_event_for(m, Audience.AGENT) for _, m in published[1:]
    )
    assert updated == {"room_id": rid, "seq": 2, "message": updated["message"]}
    assert updated["message"]["text"] == "yo"
    assert edit["seq"] == 2
    assert deleted == {"room_id": rid, "seq": 3, "message_id": message["id"]} == delete
    assert status == {
        "room_id": rid,
        "user_id": str(agent.pk),
        "last_delivered_seq": 3,
        "last_read_seq": 3,
    }
    assert room_closed == {"room_id": rid, "seq": 4, "room": closed}
    assert closed["status"] == "closed"


def test_room_access_revoked_message_shape(published):
    events.room_access_revoked(room_id="r1", user_ids=["u1"])
    assert published == [
        ("room.r1", {"type": "room.access", "room_id": "r1", "revoked_user_ids": ["u1"]})
    ]


def test_publish_failure_is_logged_not_raised(customer, agent, monkeypatch, caplog):
    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis down")

    monkeypatch.setattr("chat_project.fanout.get_channel_layer", lambda: BrokenLayer())
    room = room_with_agent(customer, agent)
    answer = send(room, customer, "still stored")
    assert RoomEvent.objects.filter(pk=answer["id"]).exists()
    assert "group_send" in caplog.text


# --- edit and delete -----------------------------------------------------------------------


def test_edit_updates_in_place_and_keeps_the_original_for_admins(customer, agent, support_admin):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "first")
    rid, mid = str(room.pk), message["id"]
    services.message_edit(room_id=rid, message_id=mid, actor=customer, text="second")
    services.message_edit(room_id=rid, message_id=mid, actor=customer, text="third")

    stored = RoomEvent.objects.get(pk=mid)
    assert (stored.text, stored.original_text, stored.text_seq) == ("third", "first", 3)
    assert timeline(room) == [(1, "message"), (2, "message_edited"), (3, "message_edited")]

    audit = selectors.message_audit(room_id=rid, message_id=mid, user=support_admin)
    assert audit["original_text"] == "first"
    assert [e["text"] for e in audit["edits"]] == ["second", "third"]
    with pytest.raises(PermissionDenied):
        selectors.message_audit(room_id=rid, message_id=mid, user=customer)

    customer_view = selectors.room_history_page(room_id=rid, user=customer)["results"][0]
    assert customer_view["text"] == "third"
    assert "original_text" not in customer_view
    admin_view = selectors.room_history_page(room_id=rid, user=support_admin)["results"][0]
    assert admin_view["original_text"] == "first"


def test_edit_window_binds_the_author_not_admins(customer, agent, support_admin, settings):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "typo")
    RoomEvent.objects.filter(pk=message["id"]).update(
        created_at=timezone.now() - timedelta(seconds=901)
    )
    rid, mid = str(room.pk), message["id"]
    with pytest.raises(PermissionDenied):
        services.message_edit(room_id=rid, message_id=mid, actor=customer, text="fixed")
    with pytest.raises(PermissionDenied):
        services.message_delete(room_id=rid, message_id=mid, actor=customer)
    settings.CHAT_EDIT_WINDOW_SECONDS = 3600
    services.message_edit(room_id=rid, message_id=mid, actor=customer, text="fixed")
    settings.CHAT_EDIT_WINDOW_SECONDS = 0
    services.message_edit(room_id=rid, message_id=mid, actor=support_admin, text="moderated")
    assert RoomEvent.objects.get(pk=mid).text == "moderated"


def test_only_the_author_edits(customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "mine")
    with pytest.raises(PermissionDenied):
        services.message_edit(
            room_id=str(room.pk), message_id=message["id"], actor=agent, text="theirs"
        )
    with pytest.raises(PermissionDenied):
        services.message_delete(room_id=str(room.pk), message_id=message["id"], actor=agent)
    assert RoomEvent.objects.get(pk=message["id"]).text == "mine"
    assert Room.objects.get(pk=room.pk).last_seq == 1


def test_delete_is_a_tombstone_hidden_from_non_admins(customer, agent, support_admin):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "oops, my password is hunter2")
    rid = str(room.pk)
    first = services.message_delete(room_id=rid, message_id=message["id"], actor=customer)
    again = services.message_delete(room_id=rid, message_id=message["id"], actor=customer)
    assert first == again == {"room_id": rid, "message_id": message["id"], "seq": 2}
    for viewer in (customer, agent):
        shown = selectors.room_history_page(room_id=rid, user=viewer)["results"][0]
        assert (shown["deleted"], shown["text"]) == (True, "")
    shown = selectors.room_history_page(room_id=rid, user=support_admin)["results"][0]
    assert (shown["deleted"], shown["text"]) == (True, "oops, my password is hunter2")
    with pytest.raises(Conflict):
        services.message_edit(room_id=rid, message_id=message["id"], actor=customer, text="x")


def test_edit_of_a_message_in_another_room_is_not_found(customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "here")
    services.room_close(room_id=str(room.pk), actor=customer)
    other = room_with_agent(customer, agent)
    for bad in (message["id"], "not-an-id", "0" * 24):
        with pytest.raises(NotFound):
            services.message_edit(room_id=str(other.pk), message_id=bad, actor=customer, text="x")


def test_concurrent_edits_leave_the_highest_seq_text(customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "v0")
    barrier = threading.Barrier(8)

    def edit(n: int) -> dict:
        barrier.wait()
        return services.message_edit(
            room_id=str(room.pk), message_id=message["id"], actor=customer, text=f"v{n + 1}"
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(in_thread(edit), range(8)))

    last = max(results, key=lambda r: r["seq"])
    stored = RoomEvent.objects.get(pk=message["id"])
    edits = RoomEvent.objects.filter(room=room, kind=EventKind.MESSAGE_EDITED)
    assert stored.text_seq == last["seq"]
    assert stored.text == edits.get(seq=last["seq"]).text
    assert stored.original_text == "v0"
    assert [seq for seq, _ in timeline(room)] == list(range(1, 10))


# --- replay --------------------------------------------------------------------------------


def test_replay_after_seq_returns_edits_and_deletes(customer, agent):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    m1 = send(room, customer, "one")
    m2 = send(room, agent, "two")
    cursor = selectors.room_events_after(room_id=rid, user=customer, after_seq=0)["last_seq"]
    assert cursor == 2

    services.message_edit(room_id=rid, message_id=m1["id"], actor=customer, text="one!")
    services.message_delete(room_id=rid, message_id=m2["id"], actor=agent)
    m3 = send(room, agent, "three")

    replay = selectors.room_events_after(room_id=rid, user=customer, after_seq=cursor)
    assert [(e["event"], e["data"]["seq"]) for e in replay["events"]] == [
        ("message-updated", 3),
        ("message-deleted", 4),
        ("new-message", 5),
    ]
    assert replay["events"][0]["data"]["message"]["text"] == "one!"
    assert replay["events"][1]["data"]["message_id"] == m2["id"]
    assert replay["events"][2]["data"]["message"]["id"] == m3["id"]
    assert (replay["last_seq"], replay["cursor"], replay["has_more"]) == (5, 5, False)


def test_replay_pages_with_has_more_and_cursor(customer, agent):
    room = room_with_agent(customer, agent)
    for n in range(5):
        send(room, customer, f"m{n}")
    page = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0, limit=3)
    assert [e["data"]["seq"] for e in page["events"]] == [1, 2, 3]
    assert (page["has_more"], page["cursor"], page["last_seq"]) == (True, 3, 5)
    rest = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=3, limit=3)
    assert [e["data"]["seq"] for e in rest["events"]] == [4, 5]
    assert rest["has_more"] is False


def test_replay_omits_noop_fillers_and_tolerates_a_crash_hole(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "before")
    # a round the database crashed in between the seq and its event (crash point 2)
    hole = seq_taken_without_event(room)
    RoomEvent.objects.create(room=room, seq=seq_taken_without_event(room), kind=EventKind.NOOP)
    send(room, customer, "after")
    replay = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0)
    assert hole == 2
    assert [e["data"]["seq"] for e in replay["events"]] == [1, 4]
    assert replay["last_seq"] == 4


def test_a_replay_page_never_ends_on_a_filler(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "one")
    for _ in range(2):
        RoomEvent.objects.create(room=room, seq=seq_taken_without_event(room), kind=EventKind.NOOP)
    first = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0, limit=1)
    assert [e["data"]["seq"] for e in first["events"]] == [1]
    assert (first["cursor"], first["has_more"]) == (1, True)
    rest = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=1, limit=1)
    assert (rest["events"], rest["has_more"], rest["last_seq"]) == ([], False, 3)


def test_replay_repairs_an_edit_that_crashed_before_its_event(customer, agent):
    # given an edit that updated the message but died before inserting its event
    room = room_with_agent(customer, agent)
    message = send(room, customer, "draft")
    seq = seq_taken_without_event(room)
    events_collection().update_one(
        {"_id": RoomEvent.objects.get(pk=message["id"]).pk},
        {"$set": {"text": "final", "text_seq": seq, "original_text": "draft"}},
    )
    # when a client replays past it, then it still learns of the edit
    replay = selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=1)
    assert [(e["event"], e["data"]["seq"]) for e in replay["events"]] == [("message-updated", 2)]
    assert replay["events"][0]["data"]["message"]["text"] == "final"


@pytest.mark.parametrize("after_seq", [-1, 3])
def test_replay_outside_the_room_is_resync_required(customer, agent, after_seq):
    from chat.exceptions import ResyncRequired

    room = room_with_agent(customer, agent)
    send(room, customer, "one")
    send(room, customer, "two")
    with pytest.raises((ResyncRequired, ValidationFailed)):
        selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=after_seq)


def test_replay_too_far_behind_is_resync_required(customer, agent, settings):
    from chat.exceptions import ResyncRequired

    settings.CHAT_REPLAY_MAX_EVENTS = 2
    room = room_with_agent(customer, agent)
    for n in range(3):
        send(room, customer, f"m{n}")
    with pytest.raises(ResyncRequired) as caught:
        selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0)
    assert caught.value.code == "resync_required"
    assert selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=1)["events"]


# --- receipts ------------------------------------------------------------------------------


def test_stale_receipt_does_not_move_a_watermark_back(customer, agent, published):
    room = room_with_agent(customer, agent)
    for n in range(5):
        send(room, customer, f"m{n}")
    rid = str(room.pk)
    moved = services.receipt_advance(room_id=rid, user=agent, kind="read", up_to_seq=5)
    assert moved == {
        "room_id": rid,
        "user_id": str(agent.pk),
        "last_delivered_seq": 5,
        "last_read_seq": 5,
        "moved": True,
    }
    count = len(published)
    stale_read = services.receipt_advance(room_id=rid, user=agent, kind="read", up_to_seq=3)
    stale_delivered = services.receipt_advance(
        room_id=rid, user=agent, kind="delivered", up_to_seq=2
    )
    for answer in (stale_read, stale_delivered):
        assert (answer["last_delivered_seq"], answer["last_read_seq"]) == (5, 5)
        assert answer["moved"] is False
    assert len(published) == count  # nothing moved, nothing published
    assert Room.objects.get(pk=room.pk).watermark(agent.pk) == (5, 5)


def test_delivered_then_read_and_message_status(customer, agent):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    first = send(room, customer, "one")
    send(room, customer, "two")

    def statuses() -> list[str]:
        return [
            m["status"] for m in selectors.room_history_page(room_id=rid, user=customer)["results"]
        ]

    assert statuses() == ["sent", "sent"]
    services.receipt_advance(room_id=rid, user=agent, kind="delivered", up_to_seq=2)
    assert statuses() == ["delivered", "delivered"]
    services.receipt_advance(room_id=rid, user=agent, kind="read", message_id=first["id"])
    assert statuses() == ["read", "delivered"]
    # the customer's own receipts say nothing about their own messages
    services.receipt_advance(room_id=rid, user=customer, kind="read", up_to_seq=2)
    assert statuses() == ["read", "delivered"]


def test_receipt_is_capped_at_last_seq_and_validated(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "one")
    rid = str(room.pk)
    answer = services.receipt_advance(room_id=rid, user=agent, kind="read", up_to_seq=10**9)
    assert answer["last_read_seq"] == 1
    for kwargs in (
        {"kind": "seen", "up_to_seq": 1},
        {"kind": "read"},
        {"kind": "read", "up_to_seq": -1},
        {"kind": "read", "up_to_seq": "1"},
        {"kind": "read", "up_to_seq": True},
    ):
        with pytest.raises(ValidationFailed):
            services.receipt_advance(room_id=rid, user=agent, **kwargs)


# --- rooms ---------------------------------------------------------------------------------


def test_one_open_room_per_customer(customer):
    first, created = services.room_create(customer=customer, subject="Billing")
    second, created_again = services.room_create(customer=customer, subject="Other")
    assert (created, created_again) == (True, False)
    assert second["id"] == first["id"]
    assert first["status"] == "queued"
    assert first["queue_position"] == 1
    services.room_close(room_id=first["id"], actor=customer)
    third, created_third = services.room_create(customer=customer)
    assert created_third
    assert third["id"] != first["id"]


def test_concurrent_creates_make_one_room(customer):
    barrier = threading.Barrier(10)

    def create(_n: int) -> tuple[dict, bool]:
        barrier.wait()
        return services.room_create(customer=customer, subject="race")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(in_thread(create), range(10)))

    assert sum(created for _, created in results) == 1
    assert len({room["id"] for room, _ in results}) == 1
    assert Room.objects.filter(customer=customer).count() == 1


def test_one_open_room_rule_can_be_switched_off(customer, settings):
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    a, _ = services.room_create(customer=customer)
    b, created = services.room_create(customer=customer)
    assert created
    assert a["id"] != b["id"]


def test_create_with_a_first_message(customer):
    room, _ = services.room_create(customer=customer, subject="Login", message="I can't log in")
    assert room["last_seq"] == 1
    stored = RoomEvent.objects.get(room_id=room["id"], seq=1)
    assert (stored.kind, stored.text) == ("message", "I can't log in")


@pytest.mark.parametrize("kwargs", [{"message": "   "}, {"subject": "x" * 201}, {"message": 5}])
def test_create_rejects_bad_input_before_storing(customer, kwargs):
    with pytest.raises(ValidationFailed):
        services.room_create(customer=customer, **kwargs)
    assert not Room.objects.exists()


def test_only_customers_open_rooms(agent, support_admin):
    for user in (agent, support_admin):
        with pytest.raises(PermissionDenied):
            services.room_create(customer=user)
    assert not Room.objects.exists()


def test_close_appends_an_event_frees_the_open_slot_and_stops_sends(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "bye")
    closed = services.room_close(room_id=str(room.pk), actor=agent)
    assert closed["status"] == "closed"
    assert closed["closed_at"]
    assert timeline(room) == [(1, "message"), (2, "closed")]
    stored = Room.objects.get(pk=room.pk)
    assert (stored.status, stored.open_key, stored.last_seq) == (RoomStatus.CLOSED, None, 2)
    with pytest.raises(RoomClosed):
        send(room, customer, "hello?")
    assert services.room_close(room_id=str(room.pk), actor=customer)["last_seq"] == 2
    replay = selectors.room_events_after(room_id=str(room.pk), user=customer, after_seq=1)
    assert replay["events"][0]["event"] == "room-closed"
    assert replay["events"][0]["data"]["room"]["status"] == "closed"


def test_a_retry_after_close_still_gets_its_message(customer, agent):
    room = room_with_agent(customer, agent)
    first = send(room, customer, "last words", client_msg_id="lw")
    services.room_close(room_id=str(room.pk), actor=agent)
    assert send(room, customer, "last words", client_msg_id="lw")["id"] == first["id"]


def test_audit_purge_forgets_old_originals_and_deleted_texts(customer, agent, settings):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    edited = send(room, customer, "original")
    services.message_edit(room_id=rid, message_id=edited["id"], actor=customer, text="edited")
    deleted = send(room, customer, "secret")
    services.message_delete(room_id=rid, message_id=deleted["id"], actor=customer)
    fresh = services.message_audit_purge()
    assert fresh == {"edit_texts": 0, "originals": 0, "deleted_texts": 0}

    later = timezone.now() + timedelta(days=366)
    purged = services.message_audit_purge(now=later)
    assert purged == {"edit_texts": 1, "originals": 1, "deleted_texts": 1}
    assert RoomEvent.objects.get(pk=edited["id"]).original_text is None
    assert RoomEvent.objects.get(pk=edited["id"]).text == "edited"
    assert RoomEvent.objects.get(pk=deleted["id"]).text == ""
