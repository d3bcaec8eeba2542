"""The reference backend's REST API at /compat/api/ (issue 27), call by call, in the shapes
the reference frontend reads (README, "Coming from the reference backend"): the envelope
on every answer, errors included, with ``message`` a string; ``_id``, camelCase,
``participants``, ``assignedAgent``, ``metadata.subject``, ``lastMessage``,
``lastActivity``; sign-in by e-mail; ``x-session-id`` with no cookie and no CSRF token."""

from __future__ import annotations

from datetime import datetime

import pytest

from agents.tests.test_routing import online
from chat.models import Room
from compat.tests.conftest import SPA, body

pytestmark = pytest.mark.django_db(transaction=True)


def when(value: str) -> datetime:
    """A date the frontend formats (``new Date(...)``): valid ISO 8601."""
    return datetime.fromisoformat(value)


def room_doc_checked(room: dict) -> dict:
    """Every field of a room the reference frontend reads, of the type it reads."""
    assert isinstance(room["_id"], str)
    assert len(room["_id"]) == 24
    assert room["type"] == "support"
    assert room["status"] in ("active", "pending", "closed")
    assert isinstance(room["participants"], list)
    for person in room["participants"]:
        assert {"_id", "username", "role", "status", "isOnline"} <= set(person)
        assert isinstance(person["username"], str)
    agent = room["assignedAgent"]
    assert agent is None or {"_id", "username", "isOnline"} <= set(agent)
    assert isinstance(room["metadata"]["subject"], str)
    assert room["metadata"]["priority"] in ("low", "medium", "high", "urgent")
    when(room["lastActivity"])
    assert isinstance(room["transferHistory"], list)
    if "lastMessage" in room:
        assert isinstance(room["lastMessage"]["content"], str)
        when(room["lastMessage"]["createdAt"])
    return room


def message_doc_checked(message: dict) -> dict:
    assert {"_id", "chatRoomId", "senderId", "content", "messageType", "status"} <= set(message)
    assert isinstance(message["content"], str)
    assert {"_id", "username", "role"} <= set(message["senderId"])
    assert message["status"] in ("sent", "delivered", "read")
    when(message["createdAt"])
    return message


# --- the envelope and who is asking ----------------------------------------------------------


def test_off_unless_enabled(ref, settings, customer):
    settings.COMPAT_ENABLED = False
    answer = ref().post("/auth/login", {"email": "alice@example.com", "password": "x"})
    assert answer.status_code == 404


def test_sign_in_by_email_answers_the_session_object_without_a_cookie(ref, customer):
    client = ref()
    answer = client.post(
        "/auth/login", {"email": "ALICE@example.com", "password": "chat-demo-2026"}
    )
    data = body(answer)
    assert (answer.status_code, data["success"]) == (200, True)
    session = data["data"]
    assert set(session) >= {
        "userId",
        "username",
        "email",
        "role",
        "status",
        "sessionId",
        "createdAt",
        "lastActivity",
    }
    assert (session["userId"], session["role"], session["email"]) == (
        str(customer.pk),
        "user",
        "alice@example.com",
    )
    assert "sessionid" not in answer.cookies  # the key travels as x-session-id
    client.session_id = session["sessionId"]
    same = body(client.post("/auth/validate-session", {"sessionId": session["sessionId"]}))
    assert same["data"]["sessionId"] == session["sessionId"]
    assert body(client.get("/auth/profile"))["data"]["username"] == "alice"


def test_errors_are_the_envelope_with_a_string_message_and_a_stable_code(ref, customer):
    wrong = ref().post("/auth/login", {"email": "alice@example.com", "password": "nope"})
    data = body(wrong)
    assert (wrong.status_code, data["success"], data["data"]) == (401, False, None)
    assert data["code"] == "invalid_credentials"
    missing = ref().post("/auth/login", {"password": "x"})
    assert (missing.status_code, body(missing)["code"]) == (400, "validation_error")
    assert body(missing)["message"].startswith("email:")
    anonymous = ref().get("/chat/rooms")
    assert (anonymous.status_code, body(anonymous)["code"]) == (401, "not_authenticated")
    stale = ref()
    stale.session_id = "x" * 32
    assert stale.get("/chat/rooms").status_code == 401
    unknown = ref().get("/no/such/route")
    assert (unknown.status_code, body(unknown)["message"]) == (404, "Route not found")


def test_a_session_sent_as_a_header_needs_no_csrf_token_and_ends_everywhere(ref, customer):
    client = ref()
    client.login("alice@example.com")
    created = client.post("/chat/rooms", {"metadata": {"subject": "Help"}})
    assert created.status_code == 201, created.content  # no X-CSRFToken sent
    assert body(client.post("/auth/logout", {"sessionId": client.session_id}))["success"]
    assert client.get("/chat/rooms").status_code == 401


def test_cors_answers_the_allowed_origin_only(ref, customer):
    client = ref()
    preflight = client.call(
        "options",
        "/auth/login",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-session-id",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == SPA
    assert preflight["Access-Control-Allow-Credentials"] == "true"
    assert "x-session-id" in preflight["Access-Control-Allow-Headers"]
    foreign = client.call(
        "options",
        "/auth/login",
        HTTP_ORIGIN="http://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in foreign
    product = client.client.options("/api/auth/login", HTTP_ORIGIN=SPA)
    assert "Access-Control-Allow-Origin" not in product  # the product's API: same origin


def test_register_then_sign_in(ref, db):
    client = ref()
    created = client.post(
        "/auth/register",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "Str0ng-enough-9",
            "role": "user",
        },
    )
    data = body(created)
    assert (created.status_code, data["success"]) == (201, True)
    assert data["data"]["_id"]
    assert data["data"]["role"] == "user"
    assert client.login("newbie@example.com", "Str0ng-enough-9")["username"] == "newbie"
    again = ref().post(
        "/auth/register",
        {"username": "newbie2", "email": "NEWBIE@example.com", "password": "Str0ng-enough-9"},
    )
    assert again.status_code in (400, 409)
    assert body(again)["success"] is False
    agent = ref().post(
        "/auth/register",
        {
            "username": "a9",
            "email": "a9@example.com",
            "password": "Str0ng-enough-9",
            "role": "agent",
        },
    )
    assert agent.status_code == 403  # only an admin creates agents


# --- chat ----------------------------------------------------------------------------------------


def test_a_customer_starts_a_chat_routed_to_the_online_agent(ref, customer, agent):
    online(agent)
    client = ref()
    client.login("alice@example.com")
    created = client.post(
        "/chat/rooms",
        {
            "type": "support",
            "participants": [],
            "metadata": {"subject": "Refund", "priority": "high"},
        },
    )
    room = room_doc_checked(body(created)["data"])
    assert (room["status"], room["assignedAgent"]["_id"]) == ("active", str(agent.pk))
    assert {p["username"] for p in room["participants"]} == {"alice", "agent1"}
    assert room["metadata"]["subject"] == "Refund"
    # The reference posts a first message the room card previews.
    assert room["lastMessage"]["content"] == "Hello! I need help with: Refund"
    listed = body(client.get("/chat/rooms"))["data"]
    assert [r["_id"] for r in listed] == [room["_id"]]
    room_doc_checked(listed[0])
    messages = body(client.get(f"/chat/rooms/{room['_id']}/messages", {"limit": 50, "offset": 0}))
    assert [m["content"] for m in messages["data"]] == ["Hello! I need help with: Refund"]
    message_doc_checked(messages["data"][0])
    assert room_doc_checked(body(client.get(f"/chat/rooms/{room['_id']}"))["data"])


def test_a_waiting_room_is_pending_without_an_agent(ref, customer):
    client = ref()
    client.login("alice")
    room = room_doc_checked(
        body(client.post("/chat/rooms", {"metadata": {"subject": "Hi"}}))["data"]
    )
    assert (room["status"], room["assignedAgent"], len(room["participants"])) == (
        "pending",
        None,
        1,
    )


def test_unread_counts_per_room_and_search(ref, customer, agent):
    online(agent)
    alice, ada = ref(), ref()
    alice.login("alice@example.com")
    ada.login("agent1@example.com")
    room = body(alice.post("/chat/rooms", {"metadata": {"subject": "Billing"}}))["data"]
    unread = body(ada.get("/chat/unread-count"))["data"]
    assert unread == {"total": 1, "perRoom": {room["_id"]: 1}}
    found = body(ada.get(f"/chat/rooms/{room['_id']}/search", {"query": "billing"}))["data"]
    assert [m["content"] for m in found] == ["Hello! I need help with: Billing"]
    agents = body(alice.get("/chat/online-agents"))["data"]
    assert [a["username"] for a in agents] == ["agent1"]
    assert "email" not in agents[0]  # the product's rule: an address is its owner's
    assert body(ada.get("/chat/rooms/agent"))["data"][0]["_id"] == room["_id"]


def test_closing_a_chat_and_the_calls_no_screen_makes(ref, customer, agent):
    online(agent)
    alice = ref()
    alice.login("alice")
    room = body(alice.post("/chat/rooms", {"metadata": {"subject": "Bye"}}))["data"]
    closed = body(alice.delete(f"/chat/rooms/{room['_id']}"))["data"]
    assert (closed["status"], closed["isActive"]) == ("closed", False)
    assert body(alice.get("/chat/rooms"))["data"] == []
    for path in ("/chat/export", "/admin/transfer-agent-between-chats"):
        answer = alice.post(path, {})
        assert (answer.status_code, body(answer)["code"]) == (501, "not_implemented")
    assert alice.get("/chat/admin/agent-workload-stats").status_code == 501


# --- admin ---------------------------------------------------------------------------------------


def test_admin_dashboard_users_rooms_and_workloads(
    ref, customer, agent, other_agent, support_admin
):
    online(agent)
    alice, admin = ref(), ref()
    alice.login("alice")
    room = body(alice.post("/chat/rooms", {"metadata": {"subject": "Plan"}}))["data"]
    admin.login("admin@example.com")
    stats = body(admin.get("/admin/stats"))["data"]
    assert set(stats) >= {"totalUsers", "activeAgents", "activeChats", "onlineUsers"}
    assert (stats["totalUsers"], stats["activeChats"]) == (4, 1)
    assert all(isinstance(v, int) for v in stats.values())
    users = body(admin.get("/admin/users"))["data"]
    assert {u["username"] for u in users} == {"alice", "agent1", "agent2", "admin"}
    assert all("email" in u and isinstance(u["isOnline"], bool) for u in users)
    rooms = body(admin.get("/admin/chat-rooms"))["data"]
    assert [r["_id"] for r in rooms] == [room["_id"]]
    assert room_doc_checked(rooms[0])["assignedAgent"]["email"] == "agent1@example.com"
    workloads = {w["username"]: w for w in body(admin.get("/admin/agent-workloads"))["data"]}
    assert workloads["agent1"]["activeChatsCount"] == 1
    assert isinstance(workloads["agent1"]["workloadPercentage"], float)
    assert [c["_id"] for c in workloads["agent1"]["assignedChats"]] == [room["_id"]]
    assert workloads["agent2"]["assignedChats"] == []
    chat_stats = body(admin.get("/admin/chat-stats"))["data"]
    assert {row["_id"] for row in chat_stats["statusCounts"]} == {"queued", "active", "closed"}
    forbidden = alice.get("/admin/users")
    assert (forbidden.status_code, body(forbidden)["code"]) == (403, "permission_denied")


def test_admin_assigns_transfers_and_removes_an_agent(
    ref, customer, agent, other_agent, support_admin
):
    alice, admin = ref(), ref()
    alice.login("alice")
    admin.login("admin")
    room_id = body(alice.post("/chat/rooms", {"metadata": {"subject": "Plan"}}))["data"]["_id"]
    # Nobody online: it waits; the admin assigns agent1 (offline: an admin may).
    assigned = admin.post(
        "/admin/assign-agent", {"chatRoomId": room_id, "agentId": str(agent.pk), "reason": "x"}
    )
    assert body(assigned)["success"], assigned.content
    assert Room.objects.get(pk=room_id).agent_id == agent.pk
    moved = admin.post(
        "/admin/transfer-agent",
        {"chatRoomId": room_id, "agentId": str(other_agent.pk), "reason": "Billing expert"},
    )
    assert body(moved)["success"], moved.content
    assert Room.objects.get(pk=room_id).agent_id == other_agent.pk
    online(agent, other_agent)
    removed = admin.post("/admin/remove-agent", {"chatRoomId": room_id, "reason": "Admin removal"})
    assert body(removed)["success"], removed.content
    # Routed at once to any eligible agent but the one removed.
    assert Room.objects.get(pk=room_id).agent_id == agent.pk
    again = admin.post("/admin/remove-agent", {"chatRoomId": str(Room.objects.get(pk=room_id).pk)})
    assert body(again)["success"]
    room = Room.objects.get(pk=room_id)
    assert (room.status, room.agent_id) == ("queued", None)  # agent2 is skipped: it waits
    shown = room_doc_checked(body(admin.get(f"/chat/rooms/{room_id}"))["data"])
    assert (shown["status"], shown["assignedAgent"]) == ("pending", None)
    assert len(shown["transferHistory"]) == 1
    nothing = admin.post("/admin/remove-agent", {"chatRoomId": room_id})
    assert (nothing.status_code, body(nothing)["code"]) == (409, "conflict")


def test_admin_sets_another_users_status(ref, agent, support_admin):
    admin = ref()
    admin.login("admin")
    answer = admin.put(f"/admin/users/{agent.pk}/status", {"status": "away"})
    assert body(answer)["success"], answer.content
    agent.refresh_from_db()
    assert agent.status == "away"
    bad = admin.put(f"/admin/users/{agent.pk}/status", {"status": "asleep"})
    assert (bad.status_code, body(bad)["code"]) == (400, "validation_error")
