"""Private notes (issue 16): written like any timeline event, edited and deleted with the
messages' audit, and never a customer's on any REST path into their room (the socket
paths: ``test_staff_audience.py``)."""

from __future__ import annotations

import pytest

from chat import selectors, services
from chat.models import EventKind, RoomEvent
from chat.tests.factories import room_with_agent, send
from chat_project.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "zebrafish-credit-note"  # one word: search would find it if notes were searchable


def note(room, author, text=SECRET):
    return services.note_add(room_id=str(room.pk), author=author, text=text)


@pytest.fixture
def room(customer, agent):
    return room_with_agent(customer, agent)


# --- writing -----------------------------------------------------------------------------


def test_a_note_takes_the_next_seq_and_stays_out_of_messages(room, customer, agent):
    send(room, customer, "hello")
    added = note(room, agent)
    assert (added["seq"], added["text"], added["author"]["id"]) == (2, SECRET, str(agent.pk))
    stored = RoomEvent.objects.get(pk=added["id"])
    assert (stored.kind, stored.search_terms) == (EventKind.NOTE, None)
    assert send(room, customer, "next")["seq"] == 3


def test_an_admin_notes_any_room_an_agent_only_their_own(room, agent, other_agent, support_admin):
    assert note(room, support_admin)["seq"] == 1
    with pytest.raises(NotFound):
        note(room, other_agent)


def test_a_customer_cannot_write_or_read_notes(room, customer, agent):
    added = note(room, agent)
    rid = str(room.pk)
    for call in (
        lambda: note(room, customer),
        lambda: selectors.note_list(room_id=rid, user=customer),
        lambda: services.note_edit(room_id=rid, note_id=added["id"], actor=customer, text="x"),
        lambda: services.note_delete(room_id=rid, note_id=added["id"], actor=customer),
        lambda: selectors.note_audit(room_id=rid, note_id=added["id"], user=customer),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_edit_and_delete_keep_the_same_audit_as_messages(room, agent, support_admin):
    rid = str(room.pk)
    added = note(room, agent, "first")
    edited = services.note_edit(room_id=rid, note_id=added["id"], actor=agent, text="second")
    assert (edited["seq"], edited["note"]["text"]) == (2, "second")
    assert "original_text" not in edited["note"]
    audit = selectors.note_audit(room_id=rid, note_id=added["id"], user=support_admin)
    assert audit["original_text"] == "first"
    assert [(e["seq"], e["text"]) for e in audit["edits"]] == [(2, "second")]
    deleted = services.note_delete(room_id=rid, note_id=added["id"], actor=agent)
    assert deleted["seq"] == 3
    assert services.note_delete(room_id=rid, note_id=added["id"], actor=agent)["seq"] == 3
    agents_view = selectors.note_list(room_id=rid, user=agent)["results"]
    assert [(n["text"], n["deleted"]) for n in agents_view] == [("", True)]
    admins_view = selectors.note_list(room_id=rid, user=support_admin)["results"]
    assert (admins_view[0]["text"], admins_view[0]["original_text"]) == ("second", "first")
    kinds = list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["note", "note_edited", "note_deleted"]


def test_the_audit_of_notes_is_purged_like_that_of_messages(room, agent, settings):
    from datetime import timedelta

    from django.utils import timezone

    rid = str(room.pk)
    added = note(room, agent, "first")
    services.note_edit(room_id=rid, note_id=added["id"], actor=agent, text="second")
    later = timezone.now() + timedelta(days=settings.CHAT_AUDIT_RETENTION_DAYS + 1)
    assert services.message_audit_purge(now=later)["edit_texts"] == 1
    stored = RoomEvent.objects.get(pk=added["id"])
    assert (stored.text, stored.original_text) == ("second", None)


def test_another_agents_note_is_the_authors_or_an_admins_to_change(room, agent, support_admin):
    rid = str(room.pk)
    added = note(room, support_admin)
    with pytest.raises(PermissionDenied):
        services.note_edit(room_id=rid, note_id=added["id"], actor=agent, text="mine now")
    services.note_edit(room_id=rid, note_id=added["id"], actor=support_admin, text="fixed")


def test_a_message_id_is_not_a_note_and_a_note_id_is_not_a_message(room, customer, agent):
    rid = str(room.pk)
    message = send(room, customer)
    added = note(room, agent)
    with pytest.raises(NotFound):
        services.note_edit(room_id=rid, note_id=message["id"], actor=agent, text="x")
    with pytest.raises(NotFound):
        services.message_edit(room_id=rid, message_id=added["id"], actor=agent, text="x")
    with pytest.raises(NotFound):
        services.receipt_advance(room_id=rid, user=customer, kind="read", message_id=added["id"])


def test_notes_page_in_seq_order(room, agent):
    for n in range(3):
        note(room, agent, f"n{n}")
    rid = str(room.pk)
    first = selectors.note_list(room_id=rid, user=agent, limit=2)
    assert [n["text"] for n in first["results"]] == ["n0", "n1"]
    rest = selectors.note_list(room_id=rid, user=agent, **first["next"])
    assert ([n["text"] for n in rest["results"]], rest["next"]) == (["n2"], None)


def test_a_transfer_note_becomes_a_private_note(room, customer, agent, other_agent, published):
    from accounts import presence
    from agents import services as routing

    presence.lease_touch(user_id=str(other_agent.pk), conn_id="c", ttl_seconds=60)
    answer = routing.room_transfer(
        room_id=room.pk, actor=agent, to_agent_id=other_agent.pk, note=SECRET
    )
    assert answer["note"] == SECRET  # echoed to the staff member who transferred
    transferred = RoomEvent.objects.get(room=room, kind=EventKind.TRANSFERRED)
    assert SECRET not in str(transferred.data)
    assert transferred.text == ""
    stored = RoomEvent.objects.get(room=room, kind=EventKind.NOTE)
    assert (stored.seq, stored.text, stored.actor_id) == (transferred.seq + 1, SECRET, agent.pk)
    assert stored.data["transfer"]["to_agent"]["id"] == str(other_agent.pk)
    # Published: the transfer to everyone in the room without the note, the note to staff.
    public = [m for _g, m in published if m.get("audiences") is None]
    staff = [m for _g, m in published if m.get("audiences") == ["admin", "agent"]]
    assert SECRET not in str(public)
    assert [m["event"] for m in staff] == ["note-added"]
    assert staff[0]["data"]["note"]["text"] == SECRET
    # The new agent reads it; the customer's replay has the transfer, not the note.
    notes = selectors.note_list(room_id=str(room.pk), user=other_agent)["results"]
    assert [n["text"] for n in notes] == [SECRET]
    replay = selectors.room_events_after(room_id=str(room.pk), user=customer, after_seq=0)
    assert [e["event"] for e in replay["events"]] == ["room-transferred"]
    assert "note" not in replay["events"][0]["data"]


def test_a_transfer_stored_before_notes_existed_keeps_its_note_from_the_customer(room, customer):
    """Transfers written before issue 16 carry the note in their data."""
    RoomEvent.objects.create(
        room=room, seq=1, kind=EventKind.TRANSFERRED, text=SECRET, data={"note": SECRET}
    )
    type(room).objects.filter(pk=room.pk).update(last_seq=1)
    replay = selectors.room_events_after(room_id=str(room.pk), user=customer, after_seq=0)
    assert SECRET not in str(replay)


# --- every REST path a customer has into the room, with a note present ----------------------


def test_no_rest_path_gives_a_customer_a_note(api, room, customer, agent):
    send(room, customer, "my order zebrafish")
    added = note(room, agent)
    services.note_edit(room_id=str(room.pk), note_id=added["id"], actor=agent, text=SECRET + "2")
    send(room, agent, "on it")
    api.login(customer.username)
    base = f"/api/chat/rooms/{room.pk}"
    reads = [
        "/api/chat/rooms",
        base,
        f"{base}/messages",
        f"{base}/messages?after_seq=0",
        f"{base}/messages?before_seq=5",
        f"{base}/events?after_seq=0",
        f"{base}/events?after_seq=1",
        f"{base}/search?q=zebrafish",
        f"{base}/search?q={SECRET}",
        "/api/chat/unread-count",
    ]
    for path in reads:
        response = api.get(path)
        assert response.status_code == 200, (path, response.content)
        assert SECRET not in response.content.decode(), path
        assert added["id"] not in response.content.decode(), path
    replay = api.get(f"{base}/events?after_seq=0").json()
    assert [e["event"] for e in replay["events"]] == ["new-message", "new-message"]
    assert replay["last_seq"] == 4  # the cursor moves past the notes' seqs
    assert api.get("/api/chat/unread-count").json()["total"] == 1  # the agent's message
    hits = api.get(f"{base}/search?q=zebrafish").json()["results"]
    assert [h["text"] for h in hits] == ["my order zebrafish"]
    refused = {
        ("get", f"{base}/notes"): 403,
        ("post", f"{base}/notes"): 403,
        ("patch", f"{base}/notes/{added['id']}"): 403,
        ("delete", f"{base}/notes/{added['id']}"): 403,
        ("get", f"{base}/notes/{added['id']}/edits"): 403,
        ("patch", f"{base}/messages/{added['id']}"): 404,
        ("delete", f"{base}/messages/{added['id']}"): 404,
        ("get", f"{base}/messages/{added['id']}/edits"): 403,
        ("post", f"{base}/receipts"): 404,
    }
    bodies = {"notes": {"text": "x"}, "receipts": {"kind": "read", "message_id": added["id"]}}
    for (method, path), status in refused.items():
        body = next((b for k, b in bodies.items() if path.endswith(k)), {"text": "x"})
        response = api.get(path) if method == "get" else getattr(api, method)(path, body)
        assert response.status_code == status, (method, path, response.content)
        assert SECRET not in response.content.decode()
