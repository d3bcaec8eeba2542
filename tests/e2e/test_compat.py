"""The reference frontend's flows against a real daphne process with the compatibility
edge on (issue 27): HTTP as its axios client makes them (``/compat/api``, ``x-session-id``,
no cookie, from its own origin) and the real npm socket.io-client 4.x on namespace
``/compat`` with ``auth.sessionId``, as its ``socket.ts`` connects. Sign-up, sign-in by
e-mail as customer, agent and admin, a chat started with a subject and routed, messages
both ways, typing, delivered and read per message, unread counts, a reload on the stored
session, the admin's dashboard and agent management, logout."""

from __future__ import annotations

import httpx
import pytest
from asgiref.sync import sync_to_async

from tests.e2e.conftest import FAST

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SPA = "http://127.0.0.1:3001"
PASSWORD = "chat-demo-2026"


@pytest.fixture
def compat_server(_servers):
    return _servers("compat", **FAST, COMPAT_ENABLED="1", COMPAT_ALLOWED_ORIGINS=SPA)


class Frontend:
    """One browser tab of the reference frontend: its REST calls and its socket."""

    def __init__(self, server, sio) -> None:
        self.server = server
        self.open_sio = sio
        self.http = httpx.AsyncClient(base_url=f"{server.http_url}/compat/api", timeout=10)
        self.session_id: str | None = None
        self.user: dict | None = None
        self.socket = None

    async def call(self, method: str, path: str, body=None, **params):
        headers = {"Origin": SPA}
        if self.session_id:
            headers["x-session-id"] = self.session_id
        answer = await self.http.request(
            method, path, json=body, params=params or None, headers=headers
        )
        data = answer.json()
        assert isinstance(data["message"], str), data  # rendered as text by the frontend
        assert answer.headers["access-control-allow-origin"] == SPA
        return answer.status_code, data

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict:
        status, data = await self.call(
            "POST", "/auth/login", {"email": email, "password": password}
        )
        assert (status, data["success"]) == (200, True), data
        self.session_id, self.user = data["data"]["sessionId"], data["data"]
        return self.user

    async def connect(self, name: str):
        self.socket = await self.open_sio(
            self.server,
            None,
            name=name,
            namespace="/compat",
            origin=SPA,
            auth={"sessionId": self.session_id},
        )
        await self.socket.connected()
        return self.socket

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def frontend(compat_server, sio):
    opened: list[Frontend] = []

    def open_tab() -> Frontend:
        tab = Frontend(compat_server, sio)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        await tab.close()


async def test_the_reference_frontends_flows(frontend, make_user, compat_server):
    # given an agent, an admin, and a visitor who signs up
    await sync_to_async(make_user)(username="agent1", role="agent")
    await sync_to_async(make_user)(username="admin", role="admin")
    visitor = frontend()
    status, signed_up = await visitor.call(
        "POST",
        "/auth/register",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password": "Carol-2026-pw",
            "role": "user",
        },
    )
    assert (status, signed_up["success"]) == (201, True), signed_up
    carol = await visitor.sign_in("CAROL@example.com", "Carol-2026-pw")
    assert carol["role"] == "user"

    # the agent signs in by e-mail and connects: online
    agent = frontend()
    assert (await agent.sign_in("agent1@example.com"))["role"] == "agent"
    agent_socket = await agent.connect("agent1")

    # when the customer starts a chat with a subject, it is routed to the online agent
    status, created = await visitor.call(
        "POST",
        "/chat/rooms",
        {
            "type": "support",
            "participants": [],
            "metadata": {"subject": "My invoice", "priority": "medium"},
        },
    )
    assert status == 201, created
    room = created["data"]
    # (Routed at once, or by the drain that the agent's coming online was running.)
    received = await agent_socket.expect("agent-assignment-received")
    assert received["chatRoom"]["_id"] == room["_id"]
    _, shown = await visitor.call("GET", f"/chat/rooms/{room['_id']}")
    assert shown["data"]["status"] == "active"
    assert shown["data"]["assignedAgent"]["username"] == "agent1"

    # the customer connects (joined to her rooms), opens the chat: its history
    customer_socket = await visitor.connect("carol")
    await customer_socket.emit("join-room", {"chatRoomId": room["_id"]})
    history = await customer_socket.expect("chat-history")
    assert [m["content"] for m in history["messages"]] == ["Hello! I need help with: My invoice"]
    _, rooms = await visitor.call("GET", "/chat/rooms")
    assert rooms["data"][0]["lastMessage"]["content"] == "Hello! I need help with: My invoice"

    # then messages go both ways, live, with typing and per-message status
    await customer_socket.emit(
        "send-message", {"chatRoomId": room["_id"], "content": "It says 42", "messageType": "text"}
    )
    shown = await agent_socket.expect(
        "new-message", where=lambda d: d["message"]["content"] == "It says 42"
    )
    assert shown["sender"]["username"] == "carol"
    message_id = shown["message"]["_id"]
    echo = await customer_socket.expect(
        "new-message", where=lambda d: d["message"]["_id"] == message_id
    )
    assert echo["message"]["status"] == "sent"
    _, unread = await agent.call("GET", "/chat/unread-count")
    assert unread["data"]["perRoom"][room["_id"]] == 2
    delivered = await customer_socket.expect(
        "message-status-updated", where=lambda d: d["messageId"] == message_id
    )
    assert (delivered["status"], delivered["userId"]) == ("delivered", agent.user["userId"])
    await agent_socket.emit("typing", {"chatRoomId": room["_id"], "isTyping": True})
    typing = await customer_socket.expect("user-typing")
    assert (typing["username"], typing["isTyping"]) == ("agent1", True)
    await agent_socket.emit("message-read", {"messageId": message_id})
    read = await customer_socket.expect(
        "message-status-updated",
        where=lambda d: d["status"] == "read" and d["messageId"] == message_id,
    )
    assert read["userId"] == agent.user["userId"]
    await agent_socket.expect(  # the reader's own copy turns read: its read loop stops
        "message-status-updated",
        where=lambda d: d["status"] == "read" and d["messageId"] == message_id,
    )
    _, unread = await agent.call("GET", "/chat/unread-count")
    assert unread["data"]["perRoom"].get(room["_id"], 0) == 0
    await agent_socket.emit(
        "send-message", {"chatRoomId": room["_id"], "content": "Fixed", "messageType": "text"}
    )
    reply = await customer_socket.expect(
        "new-message", where=lambda d: d["message"]["content"] == "Fixed"
    )
    assert reply["sender"]["role"] == "agent"

    # a reload keeps the session: validate-session gives the same id, a new socket follows
    reloaded = frontend()
    reloaded.session_id = visitor.session_id
    status, valid = await reloaded.call(
        "POST", "/auth/validate-session", {"sessionId": visitor.session_id}
    )
    assert (status, valid["data"]["sessionId"]) == (200, visitor.session_id)
    again = await reloaded.connect("carol-reloaded")
    await agent_socket.emit(
        "send-message",
        {"chatRoomId": room["_id"], "content": "Anything else?", "messageType": "text"},
    )
    await again.expect("new-message", where=lambda d: d["message"]["content"] == "Anything else?")

    # the admin's dashboard and agent management
    admin = frontend()
    await admin.sign_in("admin@example.com")
    _, stats = await admin.call("GET", "/admin/stats")
    assert (stats["data"]["activeChats"], stats["data"]["activeAgents"]) == (1, 1)
    _, users = await admin.call("GET", "/admin/users")
    assert {u["username"] for u in users["data"]} >= {"carol", "agent1", "admin"}
    _, workloads = await admin.call("GET", "/admin/agent-workloads")
    assert workloads["data"][0]["assignedChats"][0]["metadata"]["subject"] == "My invoice"
    _, all_rooms = await admin.call("GET", "/admin/chat-rooms")
    assert [r["_id"] for r in all_rooms["data"]] == [room["_id"]]
    status, removed = await admin.call(
        "POST", "/admin/remove-agent", {"chatRoomId": room["_id"], "reason": "Admin removal"}
    )
    assert (status, removed["success"]) == (200, True), removed
    notice = await customer_socket.expect("agent-removed")
    assert notice["removedAgentId"] == agent.user["userId"]
    await agent_socket.expect("agent-assignment-removed")
    status, assigned = await admin.call(
        "POST",
        "/admin/assign-agent",
        {"chatRoomId": room["_id"], "agentId": agent.user["userId"], "reason": "Admin assignment"},
    )
    assert (status, assigned["success"]) == (200, True), assigned
    back = await agent_socket.expect("agent-assignment-received")
    assert back["chatRoom"]["_id"] == room["_id"]

    # logout anywhere ends the session everywhere: its sockets close, the id is refused
    status, _ = await visitor.call("POST", "/auth/logout", {"sessionId": visitor.session_id})
    assert status == 200
    gone = await customer_socket.disconnected()
    assert gone["code"] == 4401
    status, refused = await reloaded.call(
        "POST", "/auth/validate-session", {"sessionId": visitor.session_id}
    )
    assert (status, refused["success"]) == (401, False)
    assert not compat_server.tracebacks()
