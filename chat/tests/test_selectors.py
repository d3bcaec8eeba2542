"""chat.selectors: visibility, history pages and their cache, search, unread counts,
and query counts on the hot reads (at N and 2N rows)."""

from __future__ import annotations

import io

import pytest
from bson import ObjectId
from django.core.cache import cache
from django.core.management import call_command

from chat import search_index, selectors, services, timeline
from chat.models import RoomEvent
from chat.tests.factories import (
    room_assign,
    room_open,
    room_with_agent,
    send,
    seq_taken_without_event,
)
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)


# --- visibility ----------------------------------------------------------------------------


def test_visibility_rule(customer, other_customer, agent, other_agent, support_admin):
    room = room_with_agent(customer, agent)
    for user in (customer, agent, support_admin):
        assert selectors.room_get_for_user(room_id=str(room.pk), user=user).pk == room.pk
    for user in (other_customer, other_agent):
        with pytest.raises(NotFound):
            selectors.room_get_for_user(room_id=str(room.pk), user=user)


def test_after_a_transfer_the_previous_agent_loses_access(customer, agent, other_agent):
    room = room_with_agent(customer, agent)
    room_assign(room, other_agent)
    with pytest.raises(NotFound):
        selectors.room_get_for_user(room_id=str(room.pk), user=agent)
    assert selectors.room_ids_for_user(user=agent) == []
    assert selectors.room_ids_for_user(user=other_agent) == [str(room.pk)]


def test_a_queued_room_is_seen_by_no_agent(customer, agent):
    room = room_open(customer)
    with pytest.raises(NotFound):
        selectors.room_get_for_user(room_id=str(room.pk), user=agent)


@pytest.mark.parametrize("room_id", ["nope", "", "0" * 24, "g" * 24, None, 12])
def test_malformed_or_unknown_room_ids_are_not_found(customer, room_id):
    with pytest.raises(NotFound):
        selectors.room_get_for_user(room_id=room_id, user=customer)


def test_room_ids_for_user_lists_open_rooms_only(customer, agent, support_admin):
    closed = room_with_agent(customer, agent)
    services.room_close(room_id=str(closed.pk), actor=customer)
    open_room = room_with_agent(customer, agent)
    assert selectors.room_ids_for_user(user=customer) == [str(open_room.pk)]
    assert selectors.room_ids_for_user(user=agent) == [str(open_room.pk)]
    assert selectors.room_ids_for_user(user=support_admin) == [str(open_room.pk)]


def test_room_list_pages_and_filters(customer, agent, settings):
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    rooms = [room_with_agent(customer, agent, subject=f"r{n}") for n in range(5)]
    services.room_close(room_id=str(rooms[0].pk), actor=customer)
    first = selectors.room_list(user=customer, limit=3)
    assert [r["subject"] for r in first["results"]] == ["r4", "r3", "r2"]
    second = selectors.room_list(user=customer, limit=3, cursor=first["next"])
    assert [r["subject"] for r in second["results"]] == ["r1", "r0"]
    assert second["next"] is None
    closed = selectors.room_list(user=agent, status="closed", assigned_only=True)
    assert [r["subject"] for r in closed["results"]] == ["r0"]
    with pytest.raises(PermissionDenied):
        selectors.room_list(user=customer, assigned_only=True)


# --- history -------------------------------------------------------------------------------


def test_history_newest_page_then_older_then_newer(customer, agent):
    room = room_with_agent(customer, agent)
    for n in range(7):
        send(room, customer if n % 2 else agent, f"m{n}")
    rid = str(room.pk)
    newest = selectors.room_history_page(room_id=rid, user=customer, limit=3)
    assert [m["text"] for m in newest["results"]] == ["m4", "m5", "m6"]
    assert newest["next"] == {"before_seq": 5}
    older = selectors.room_history_page(room_id=rid, user=customer, before_seq=5, limit=3)
    assert [m["seq"] for m in older["results"]] == [2, 3, 4]
    oldest = selectors.room_history_page(room_id=rid, user=customer, before_seq=2, limit=3)
    assert [m["seq"] for m in oldest["results"]] == [1]
    assert oldest["next"] is None
    newer = selectors.room_history_page(room_id=rid, user=customer, after_seq=2, limit=3)
    assert [m["seq"] for m in newer["results"]] == [3, 4, 5]
    assert newer["next"] == {"after_seq": 5}
    assert newest["last_seq"] == 7
    with pytest.raises(ValidationFailed):
        selectors.room_history_page(room_id=rid, user=customer, before_seq=1, after_seq=1)


def test_history_shows_only_messages(customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "a")
    services.message_edit(room_id=str(room.pk), message_id=message["id"], actor=customer, text="b")
    page = selectors.room_history_page(room_id=str(room.pk), user=agent)
    assert [(m["seq"], m["text"]) for m in page["results"]] == [(1, "b")]


def test_no_stale_page_is_served_after_an_edit(customer, agent, django_assert_num_queries):
    # given a newest page that is in the cache
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    message = send(room, customer, "before")
    send(room, agent, "reply")
    assert selectors.room_history_page(room_id=rid, user=agent)["results"][0]["text"] == "before"
    with django_assert_num_queries(1):  # a cache hit: only the room is read
        selectors.room_history_page(room_id=rid, user=agent)

    # when the message is edited
    services.message_edit(room_id=rid, message_id=message["id"], actor=customer, text="after")

    # then the next read sees the edit, never the cached page
    page = selectors.room_history_page(room_id=rid, user=agent)
    assert page["results"][0]["text"] == "after"
    services.message_delete(room_id=rid, message_id=message["id"], actor=customer)
    page = selectors.room_history_page(room_id=rid, user=agent)
    assert page["results"][0]["deleted"] is True
    assert page["results"][0]["text"] == ""


def test_an_incomplete_newest_page_is_not_cached(customer, agent):
    # given a seq reserved by a send that has not inserted yet
    room = room_with_agent(customer, agent)
    send(room, customer, "one")
    seq_taken_without_event(room)
    rid = str(room.pk)
    # when the newest page is read in that window
    selectors.room_history_page(room_id=rid, user=agent)
    # then it was not cached under the new last_seq
    assert cache.get(f"chat:history:{room.pk}:2:50") is None


def test_cached_page_still_shows_fresh_receipt_status(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "hi")
    rid = str(room.pk)
    assert selectors.room_history_page(room_id=rid, user=customer)["results"][0]["status"] == "sent"
    services.receipt_advance(room_id=rid, user=agent, kind="read", up_to_seq=1)
    assert selectors.room_history_page(room_id=rid, user=customer)["results"][0]["status"] == "read"


@pytest.mark.parametrize("rows", [5, 10])
def test_history_page_query_count_does_not_grow_with_rows(
    customer, agent, rows, django_assert_num_queries
):
    room = room_with_agent(customer, agent)
    for n in range(rows):
        send(room, customer if n % 2 else agent, f"m{n}")
    # room + messages + users (the viewer is known; the other sender is fetched)
    with django_assert_num_queries(3):
        page = selectors.room_history_page(room_id=str(room.pk), user=customer, before_seq=rows + 1)
    assert len(page["results"]) == rows
    # the newest page on a cache miss also counts the timeline once to prove completeness
    with django_assert_num_queries(4):
        selectors.room_history_page(room_id=str(room.pk), user=customer)


@pytest.mark.parametrize("rows", [3, 6])
def test_room_list_query_count_does_not_grow_with_rows(
    make_user, agent, rows, django_assert_num_queries, support_admin
):
    for n in range(rows):
        room_with_agent(make_user(username=f"c{n}"), agent)
    with django_assert_num_queries(2):  # rooms + their users
        page = selectors.room_list(user=support_admin, limit=50)
    assert len(page["results"]) == rows


@pytest.mark.parametrize("rows", [4, 8])
def test_replay_query_count_is_constant(customer, agent, rows, django_assert_num_queries):
    room = room_with_agent(customer, agent)
    for n in range(rows):
        message = send(room, customer, f"m{n}")
    services.message_edit(room_id=str(room.pk), message_id=message["id"], actor=customer, text="e")
    # room + events + users (the edited message is in the page)
    with django_assert_num_queries(3):
        selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=0)
    # room + events + the edited message + users
    with django_assert_num_queries(4):
        selectors.room_events_after(room_id=str(room.pk), user=agent, after_seq=rows)


# --- search --------------------------------------------------------------------------------


def test_search_matches_all_words_case_insensitively(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "My ORDER number is 42")
    send(room, agent, "Which order?")
    send(room, customer, "the number is on the invoice")
    rid = str(room.pk)
    found = selectors.message_search(room_id=rid, user=agent, q="order NUMBER")
    assert [m["seq"] for m in found["results"]] == [1]
    found = selectors.message_search(room_id=rid, user=agent, q="order")
    assert [m["seq"] for m in found["results"]] == [2, 1]


@pytest.mark.parametrize("q", [".*", "$where", "(", "a|b", "[", "\\", "^", "{$ne: 1}"])
def test_search_treats_metacharacters_as_text(customer, agent, q):
    room = room_with_agent(customer, agent)
    send(room, customer, "plain words only")
    send(room, customer, f"contains {q} literally")
    found = selectors.message_search(room_id=str(room.pk), user=agent, q=q)
    assert [m["text"] for m in found["results"]] == [f"contains {q} literally"]


def test_search_pages_skips_deleted_and_stays_in_the_room(customer, agent, other_customer):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    for n in range(5):
        send(room, customer, f"needle {n}")
    gone = send(room, customer, "needle deleted")
    services.message_delete(room_id=rid, message_id=gone["id"], actor=customer)
    elsewhere = room_with_agent(other_customer, agent)
    send(elsewhere, other_customer, "needle elsewhere")
    first = selectors.message_search(room_id=rid, user=customer, q="needle", limit=3)
    assert [m["text"] for m in first["results"]] == ["needle 4", "needle 3", "needle 2"]
    rest = selectors.message_search(
        room_id=rid, user=customer, q="needle", limit=3, **first["next"]
    )
    assert [m["text"] for m in rest["results"]] == ["needle 1", "needle 0"]
    assert rest["next"] is None
    with pytest.raises(NotFound):
        selectors.message_search(room_id=rid, user=other_customer, q="needle")


def test_search_matches_word_prefixes_not_inner_substrings(customer, agent):
    """Issue 8 (scenario 6): search became an indexed word-prefix match; until then a
    query matched any substring ("fund" found "refund")."""
    room = room_with_agent(customer, agent)
    send(room, customer, "I want a REFUND")
    send(room, customer, "about my (order)")
    send(room, customer, "please re-order it")
    rid = str(room.pk)

    def seqs(q: str) -> list[int]:
        return [m["seq"] for m in selectors.message_search(room_id=rid, user=agent, q=q)["results"]]

    assert seqs("ref") == [1]
    assert seqs("fund") == []
    assert seqs("order") == [3, 2]
    assert seqs("re-ord") == [3]
    assert seqs("rder") == []


def test_search_finds_a_message_once_when_several_of_its_words_match(customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "refund refunds refunded")
    found = selectors.message_search(room_id=str(room.pk), user=agent, q="refund")
    assert [m["seq"] for m in found["results"]] == [1]


def test_search_follows_edits_and_forgets_deletes(customer, agent):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    edited = send(room, customer, "old words")
    gone = send(room, customer, "old and gone")
    services.message_edit(room_id=rid, message_id=edited["id"], actor=customer, text="new words")
    services.message_delete(room_id=rid, message_id=gone["id"], actor=customer)
    assert selectors.message_search(room_id=rid, user=agent, q="old")["results"] == []
    found = selectors.message_search(room_id=rid, user=agent, q="new")["results"]
    assert [m["text"] for m in found] == ["new words"]
    stored = {e.pk: e.search_terms for e in RoomEvent.objects.filter(room_id=room.pk)}
    assert stored[ObjectId(edited["id"])] == ["0:new", "0:words"]
    assert stored[ObjectId(gone["id"])] is None


def test_search_pages_across_seq_buckets_newest_first(
    customer, agent, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(search_index, "BUCKET_SEQS", 4)
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    for n in range(1, 21):  # seqs 1..20 in buckets 0..5; "needle" at 2, 3, 9, 17, 18, 19
        send(room, customer, f"needle {n}" if n in (2, 3, 9, 17, 18, 19) else f"hay {n}")
    pages, after = [], {}
    while True:
        page = selectors.message_search(room_id=rid, user=agent, q="NEEDLE", limit=2, **after)
        pages.append([m["seq"] for m in page["results"]])
        if page["next"] is None:
            break
        after = page["next"]
    assert pages == [[19, 18], [17, 9], [3, 2]]
    # A word found nowhere: the room, the overflow query, one query per bucket (0..5),
    # however far past the room's last seq the cursor is.
    with django_assert_num_queries(1 + 1 + 6):
        assert selectors.message_search(room_id=rid, user=agent, q="absent")["results"] == []
    with django_assert_num_queries(1 + 1 + 6 + 1):  # and the senders of what it found
        far = selectors.message_search(room_id=rid, user=agent, q="needle", before_seq=10**12)
    assert [m["seq"] for m in far["results"]] == [19, 18, 17, 9, 3, 2]


def test_search_requires_every_word_in_the_same_message(customer, agent, monkeypatch):
    monkeypatch.setattr(search_index, "BUCKET_SEQS", 2)
    room = room_with_agent(customer, agent)
    send(room, customer, "alpha")
    send(room, customer, "beta")
    send(room, customer, "beta alphabet")
    send(room, customer, "gamma")
    found = selectors.message_search(room_id=str(room.pk), user=agent, q="alph beta")
    assert [m["seq"] for m in found["results"]] == [3]


def test_search_finds_long_messages_through_the_overflow_term(customer, agent, monkeypatch):
    monkeypatch.setattr(search_index, "MAX_TERMS", 3)
    monkeypatch.setattr(search_index, "BUCKET_SEQS", 2)
    room = room_with_agent(customer, agent)
    send(room, customer, "one two three four needle")  # overflow, seq 1
    send(room, customer, "needle")  # seq 2
    send(room, customer, "hay")
    send(room, customer, "a b c d e needles")  # overflow, seq 4
    send(room, customer, "needle")  # seq 5
    rid = str(room.pk)
    found = selectors.message_search(room_id=rid, user=agent, q="needle", limit=2)
    assert [m["seq"] for m in found["results"]] == [5, 4]
    rest = selectors.message_search(room_id=rid, user=agent, q="needle", **found["next"])
    assert [m["seq"] for m in rest["results"]] == [2, 1]
    assert selectors.message_search(room_id=rid, user=agent, q="four")["results"][0]["seq"] == 1


def test_search_words_longer_than_the_stored_cut_are_confirmed_on_the_text(
    customer, agent, monkeypatch
):
    monkeypatch.setattr(search_index, "MAX_TERM_CHARS", 4)
    room = room_with_agent(customer, agent)
    send(room, customer, "internationalization")
    send(room, customer, "internal")
    rid = str(room.pk)
    found = selectors.message_search(room_id=rid, user=agent, q="internat")
    assert [m["seq"] for m in found["results"]] == [1]
    found = selectors.message_search(room_id=rid, user=agent, q="inte")
    assert [m["seq"] for m in found["results"]] == [2, 1]


def test_search_reindex_writes_terms_of_messages_without_them(customer, agent):
    room = room_with_agent(customer, agent)
    rid = str(room.pk)
    send(room, customer, "needle in the hay")
    send(room, customer, "another needle")
    gone = send(room, customer, "deleted needle")
    services.message_delete(room_id=rid, message_id=gone["id"], actor=customer)
    collection = timeline.events_collection()
    # As migration 0003 finds them: AddField set null; older writers left no field.
    collection.update_one({"room_id": room.pk, "seq": 1}, {"$set": {"search_terms": None}})
    collection.update_one({"room_id": room.pk, "seq": 2}, {"$unset": {"search_terms": ""}})
    assert selectors.message_search(room_id=rid, user=agent, q="needle")["results"] == []
    out = io.StringIO()
    call_command("search_reindex", stdout=out)
    assert "messages indexed: 2" in out.getvalue()
    found = selectors.message_search(room_id=rid, user=agent, q="needle")["results"]
    assert [m["seq"] for m in found] == [2, 1]
    call_command("search_reindex", "--all", stdout=out)
    assert "messages indexed: 3" in out.getvalue()
    assert collection.find_one({"room_id": room.pk, "seq": 3})["search_terms"] is None


@pytest.mark.parametrize("q", ["", "   ", "x" * 201, " ".join(["w"] * 11), 5])
def test_search_rejects_bad_queries(customer, agent, q):
    room = room_with_agent(customer, agent)
    with pytest.raises(ValidationFailed):
        selectors.message_search(room_id=str(room.pk), user=customer, q=q)


# --- unread counts -------------------------------------------------------------------------


def test_unread_counts_from_others_above_the_read_watermark(
    customer, other_customer, agent, support_admin
):
    a = room_with_agent(customer, agent)
    b = room_with_agent(other_customer, agent)
    send(a, customer, "a1")
    send(a, customer, "a2")
    send(a, agent, "a3 (agent's own)")
    send(b, other_customer, "b1")
    doomed = send(b, other_customer, "b2")
    services.message_delete(room_id=str(b.pk), message_id=doomed["id"], actor=other_customer)

    assert selectors.unread_counts(user=agent) == {
        "total": 3,
        "rooms": {str(a.pk): 2, str(b.pk): 1},
    }
    assert selectors.unread_counts(user=customer) == {"total": 1, "rooms": {str(a.pk): 1}}

    services.receipt_advance(room_id=str(a.pk), user=agent, kind="read", up_to_seq=1)
    assert selectors.unread_counts(user=agent)["rooms"][str(a.pk)] == 1
    services.receipt_advance(room_id=str(a.pk), user=agent, kind="delivered", up_to_seq=3)
    assert selectors.unread_counts(user=agent)["rooms"][str(a.pk)] == 1  # delivered != read
    assert selectors.unread_counts(user=support_admin) == {"total": 0, "rooms": {}}


@pytest.mark.parametrize("messages", [3, 6])
def test_unread_counts_do_not_grow_with_messages(
    customer, other_customer, agent, messages, django_assert_num_queries
):
    rooms = [room_with_agent(customer, agent), room_with_agent(other_customer, agent)]
    for room in rooms:
        for n in range(messages):
            send(room, room.customer, f"m{n}")
    # one query for the rooms, then one counting aggregation per open room
    with django_assert_num_queries(3):
        counts = selectors.unread_counts(user=agent)
    assert counts["total"] == 2 * messages
