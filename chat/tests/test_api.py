"""The /api/chat/ endpoints over HTTP with CSRF: who gets what, and bad input."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import services
from chat.models import Attachment, Room, RoomEvent
from chat.tests.factories import room_with_agent, send

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WHO = ["alice", "bob", "agent1", "agent2", "admin", None]


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def world(customer, other_customer, agent, other_agent, support_admin, media_root):
    """alice's room, assigned to agent1, with one message of alice's carrying a file."""
    room = room_with_agent(customer, agent)
    upload = services.attachment_upload(
        room_id=str(room.pk), uploader=customer, file=SimpleUploadedFile("a.png", PNG)
    )
    message = send(room, customer, "hello world", attachment_ids=[upload["id"]])
    return {"room": str(room.pk), "message": message["id"], "attachment": upload["id"]}


def png_file(name: str = "shot.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


ENDPOINTS = {
    # name: (method, path template, body, {who: expected status})
    "rooms-list": ("get", "/api/chat/rooms", None, [200, 200, 200, 200, 200, 401]),
    "rooms-create": ("post", "/api/chat/rooms", {}, [200, 201, 403, 403, 403, 401]),
    "rooms-agent": ("get", "/api/chat/rooms/agent", None, [403, 403, 200, 200, 403, 401]),
    "room-get": ("get", "/api/chat/rooms/{room}", None, [200, 404, 200, 404, 200, 401]),
    "room-close": ("delete", "/api/chat/rooms/{room}", None, [200, 404, 200, 404, 200, 401]),
    "history": ("get", "/api/chat/rooms/{room}/messages", None, [200, 404, 200, 404, 200, 401]),
    "send": (
        "post",
        "/api/chat/rooms/{room}/messages",
        {"client_msg_id": "x1", "text": "hi"},
        [201, 404, 201, 404, 403, 401],
    ),
    "edit": (
        "patch",
        "/api/chat/rooms/{room}/messages/{message}",
        {"text": "edited"},
        [200, 404, 403, 404, 200, 401],
    ),
    "delete": (
        "delete",
        "/api/chat/rooms/{room}/messages/{message}",
        None,
        [200, 404, 403, 404, 200, 401],
    ),
    "edits": (
        "get",
        "/api/chat/rooms/{room}/messages/{message}/edits",
        None,
        [403, 404, 403, 404, 200, 401],
    ),
    "search": (
        "get",
        "/api/chat/rooms/{room}/search?q=hello",
        None,
        [200, 404, 200, 404, 200, 401],
    ),
    "events": (
        "get",
        "/api/chat/rooms/{room}/events?after_seq=0",
        None,
        [200, 404, 200, 404, 200, 401],
    ),
    "receipts": (  # receipts are for participants: an admin who reads a room is not one
        "post",
        "/api/chat/rooms/{room}/receipts",
        {"kind": "read", "up_to_seq": 1},
        [200, 404, 200, 404, 403, 401],
    ),
    "upload": (
        "upload",
        "/api/chat/rooms/{room}/attachments",
        None,
        [201, 404, 201, 404, 403, 401],
    ),
    "download": ("get", "/api/chat/attachments/{attachment}", None, [200, 404, 200, 404, 200, 401]),
    "unread": ("get", "/api/chat/unread-count", None, [200, 200, 200, 200, 200, 401]),
}


def call(api, method: str, path: str, body):
    if method == "upload":
        return api.post(path, {"file": png_file()}, fmt="multipart")
    if method == "get":
        return api.get(path)
    return getattr(api, method)(path, body)


@pytest.mark.parametrize("who_index", range(len(WHO)), ids=[w or "anonymous" for w in WHO])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_authorization_matrix(api, world, endpoint, who_index):
    method, template, body, expected = ENDPOINTS[endpoint]
    who = WHO[who_index]
    if who:
        api.login(who)
    response = call(api, method, template.format(**world), body)
    assert response.status_code == expected[who_index], response.content
    if response.status_code >= 400:
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
        assert error_code(response) == code[response.status_code]


@pytest.mark.parametrize(
    ("who", "path", "visible"),
    [
        ("alice", "/api/chat/rooms", True),
        ("bob", "/api/chat/rooms", False),
        ("agent1", "/api/chat/rooms", True),
        ("agent2", "/api/chat/rooms", False),
        ("admin", "/api/chat/rooms", True),
        ("agent1", "/api/chat/rooms/agent", True),
        ("agent2", "/api/chat/rooms/agent", False),
    ],
)
def test_lists_never_include_foreign_rooms(api, world, who, path, visible):
    api.login(who)
    ids = [room["id"] for room in api.get(path).json()["results"]]
    assert ids == ([world["room"]] if visible else [])


def test_unread_count_lists_only_own_rooms(api, world):
    api.login("bob")
    assert api.get("/api/chat/unread-count").json() == {"total": 0, "rooms": {}}
    api.login("agent1")
    assert api.get("/api/chat/unread-count").json() == {"total": 1, "rooms": {world["room"]: 1}}


# --- the happy paths -----------------------------------------------------------------------


def test_customer_flow_over_rest(api, customer, agent):
    api.login("alice")
    created = api.post("/api/chat/rooms", {"subject": "Billing", "message": "hi"})
    assert created.status_code == 201
    room = created.json()
    assert (room["status"], room["queue_position"], room["last_seq"]) == ("queued", 1, 1)
    again = api.post("/api/chat/rooms", {"subject": "Other"})
    assert again.status_code == 200
    assert again.json()["id"] == room["id"]

    path = f"/api/chat/rooms/{room['id']}/messages"
    body = {"client_msg_id": "c-1", "text": "second"}
    sent = api.post(path, body)
    assert sent.status_code == 201
    retried = api.post(path, body)
    assert retried.status_code == 200
    assert retried.json() == sent.json()
    conflict = api.post(path, {"client_msg_id": "c-1", "text": "different"})
    assert conflict.status_code == 409
    assert error_code(conflict) == "idempotency_conflict"

    history = api.get(path).json()
    assert [m["text"] for m in history["results"]] == ["hi", "second"]
    assert history["next"] is None
    assert history["last_seq"] == 2

    edited = api.patch(f"{path}/{sent.json()['id']}", {"text": "second!"})
    assert edited.status_code == 200
    assert (edited.json()["text"], edited.json()["event_seq"]) == ("second!", 3)
    deleted = api.delete(f"{path}/{sent.json()['id']}")
    assert deleted.json() == {"room_id": room["id"], "message_id": sent.json()["id"], "seq": 4}

    replay = api.get(f"/api/chat/rooms/{room['id']}/events?after_seq=2").json()
    assert [e["event"] for e in replay["events"]] == ["message-updated", "message-deleted"]

    closed = api.delete(f"/api/chat/rooms/{room['id']}")
    assert closed.json()["status"] == "closed"
    late = api.post(path, {"client_msg_id": "c-2", "text": "hello?"})
    assert late.status_code == 409
    assert error_code(late) == "room_closed"


def test_history_next_is_a_link_to_the_older_page(api, customer, agent):
    room = room_with_agent(customer, agent)
    for n in range(5):
        send(room, customer, f"m{n}")
    api.login("alice")
    first = api.get(f"/api/chat/rooms/{room.pk}/messages?limit=2").json()
    assert [m["seq"] for m in first["results"]] == [4, 5]
    assert first["next"] == f"/api/chat/rooms/{room.pk}/messages?limit=2&before_seq=4"
    second = api.get(first["next"]).json()
    assert [m["seq"] for m in second["results"]] == [2, 3]


def test_room_list_next_link(api, customer, agent, settings):
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    for n in range(3):
        room_with_agent(customer, agent, subject=f"r{n}")
    api.login("agent1")
    first = api.get("/api/chat/rooms/agent?limit=2").json()
    assert [r["subject"] for r in first["results"]] == ["r2", "r1"]
    second = api.get(first["next"]).json()
    assert [r["subject"] for r in second["results"]] == ["r0"]
    assert second["next"] is None


def test_search_over_rest_with_metacharacters(api, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "price is $5 (or more)")
    send(room, customer, "nothing here")
    api.login("alice")
    path = f"/api/chat/rooms/{room.pk}/search"
    for q, hits in [(".*", 0), ("$where", 0), ("(", 1), ("$5", 1), ("PRICE more", 1)]:
        response = api.get(path, {"q": q})
        assert response.status_code == 200, q
        assert len(response.json()["results"]) == hits, q
    assert api.get(path, {"q": ""}).status_code == 400
    assert api.get(path).status_code == 400


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/chat/rooms/not-an-id",
        "/api/chat/rooms/123",
        "/api/chat/rooms/" + "z" * 24,
        "/api/chat/rooms/" + "0" * 24,
        "/api/chat/rooms/{room}/messages/xyz",
        "/api/chat/rooms/{room}/messages/" + "0" * 24 + "/edits",
        "/api/chat/attachments/../../etc/passwd",
        "/api/chat/attachments/" + "0" * 24,
    ],
)
def test_malformed_and_unknown_ids_are_404(api, world, path):
    api.login("admin")
    response = api.get(path.format(**world))
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def _state(room_id: str) -> tuple:
    room = Room.objects.get(pk=room_id)
    events = list(RoomEvent.objects.filter(room=room).values_list("seq", "kind", "text"))
    return room.last_seq, room.status, events, Attachment.objects.count()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "messages", {"client_msg_id": 5, "text": "hi"}),
        ("post", "messages", {"client_msg_id": "a", "text": ["hi"]}),
        ("post", "messages", {"client_msg_id": "a", "text": None}),
        ("post", "messages", {"client_msg_id": "a", "text": "x" * 5001}),
        ("post", "messages", {"client_msg_id": "a", "text": "x" * 100_000}),
        ("post", "messages", {"client_msg_id": "a", "text": "   "}),
        ("post", "messages", {"client_msg_id": "a", "text": "hi", "attachment_ids": "abc"}),
        ("post", "messages", {"client_msg_id": "a", "text": "hi", "attachment_ids": ["nope"]}),
        ("post", "messages", {"client_msg_id": "a", "text": "hi", "attachment_ids": ["0" * 24]}),
        ("post", "messages", {"text": "hi"}),
        ("post", "messages", ["not", "an", "object"]),
        ("patch", "messages/{message}", {"text": 42}),
        ("patch", "messages/{message}", {"text": {"a": 1}}),
        ("patch", "messages/{message}", {"text": "y" * 5001}),
        ("post", "receipts", {"kind": "read", "up_to_seq": "3"}),
        ("post", "receipts", {"kind": "read", "up_to_seq": -1}),
        ("post", "receipts", {"kind": "seen", "up_to_seq": 1}),
        ("post", "receipts", {"kind": "read"}),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(api, world, method, path, body):
    api.login("alice")
    before = _state(world["room"])
    response = getattr(api, method)(
        f"/api/chat/rooms/{world['room']}/" + path.format(**world), body
    )
    assert response.status_code == 400, response.content
    assert error_code(response) == "validation_error"
    assert _state(world["room"]) == before


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=0",
        "limit=101",
        "before_seq=-1",
        "before_seq=x",
        "before_seq=1&after_seq=1",
    ],
)
def test_bad_history_queries_are_400(api, world, query):
    api.login("alice")
    response = api.get(f"/api/chat/rooms/{world['room']}/messages?{query}")
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_bad_json_is_400(api, world):
    api.login("alice")
    response = api.client.post(
        f"/api/chat/rooms/{world['room']}/messages",
        data="{not json",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=api._token(),
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_unsafe_methods_need_the_csrf_token(api, world):
    api.login("alice")
    before = _state(world["room"])
    response = api.post(
        f"/api/chat/rooms/{world['room']}/messages",
        {"client_msg_id": "z", "text": "hi"},
        csrf=False,
    )
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"
    assert _state(world["room"]) == before


def test_replay_outside_the_window_is_resync_required(api, world):
    api.login("alice")
    response = api.get(f"/api/chat/rooms/{world['room']}/events?after_seq=99")
    assert response.status_code == 409
    assert error_code(response) == "resync_required"
