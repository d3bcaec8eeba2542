"""The reference's socket events on Socket.IO namespace ``/compat`` (issue 27), through the
whole ASGI stack: signed in from ``auth.sessionId`` at the namespace CONNECT, the user's
open rooms followed at connect, every event both ways in the reference's shapes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.tests.factories import room_with_agent
from chat_project.asgi import application
from compat.tests.conftest import SPA

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/socket.io/?EIO=4&transport=websocket"


def _session_key(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class Ref:
    """The reference frontend's socket: socket.io-client on namespace /compat, speaking
    Engine.IO text (``42/compat,[event, data]``)."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.inbox: list[tuple[str, Any]] = []
        self.close_code: int | None = None

    async def _next(self, within: float) -> str:
        output = await self.comm.receive_output(within)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            raise ConnectionError(f"closed with {self.close_code}")
        return output["text"]

    async def connect(self, session_key: str | None) -> str:
        assert (await self._next(3))[0] == "0"  # Engine.IO open
        auth = json.dumps({"sessionId": session_key} if session_key else {})
        await self.comm.send_to(text_data=f"40/compat,{auth}")
        return await self._next(3)

    async def emit(self, event: str, data: Any = None) -> None:
        args = [event] if data is None else [event, data]
        await self.comm.send_to(text_data="42/compat," + json.dumps(args))

    async def _pump(self, within: float) -> None:
        text = await self._next(within)
        if text.startswith("42/compat,"):
            event, *rest = json.loads(text[len("42/compat,") :])
            self.inbox.append((event, rest[0] if rest else None))
        elif text == "2":
            await self.comm.send_to(text_data="3")
        else:
            self.inbox.append(("raw", text))

    async def expect(self, event: str, where=None, within: float = 3.0) -> Any:
        async with asyncio.timeout(within):
            while True:
                for index, (name, data) in enumerate(self.inbox):
                    if name == event and (where is None or where(data)):
                        return self.inbox.pop(index)[1]
                await self._pump(within)

    async def all_of(self, event: str, within: float = 0.5) -> list[Any]:
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    await self._pump(within)
        found = [data for name, data in self.inbox if name == event]
        self.inbox = [(n, d) for n, d in self.inbox if n != event]
        return found


@pytest.fixture
async def ref_socket():
    opened: list[Ref] = []

    async def open_socket(user=None, *, origin: str = SPA, key: str | None = None) -> Ref:
        comm = WebsocketCommunicator(application, PATH, headers=[(b"origin", origin.encode())])
        connected, _ = await comm.connect()
        assert connected
        sock = Ref(comm)
        opened.append(sock)
        if user is not None or key is not None:
            key = key or await sync_to_async(_session_key)(user)
            answer = await sock.connect(key)
            assert answer.startswith("40/compat,{"), answer
        return sock

    yield open_socket
    for sock in opened:
        with contextlib.suppress(Exception):
            await sock.comm.disconnect()


async def test_a_session_id_signs_the_namespace_in_and_anything_else_is_refused(
    ref_socket, customer
):
    sock = await ref_socket()
    answer = await sock.connect("not-a-session")
    assert answer.startswith("44/compat,")
    assert json.loads(answer[len("44/compat,") :])["message"] == (
        "Authentication error: Invalid session"
    )
    with contextlib.suppress(ConnectionError, TimeoutError, asyncio.TimeoutError):
        await sock._next(2)
    assert sock.close_code == 4401
    anonymous = await ref_socket()
    refused = await anonymous.connect(None)
    assert "No session ID" in refused


async def test_off_unless_enabled_the_namespace_does_not_exist(customer, settings):
    settings.COMPAT_ENABLED = False
    from_spa = WebsocketCommunicator(application, PATH, headers=[(b"origin", SPA.encode())])
    connected, _ = await from_spa.connect()
    assert not connected  # the frontend's origin is nobody's now
    same_origin = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    comm = WebsocketCommunicator(application, PATH, headers=same_origin)
    connected, _ = await comm.connect()
    assert connected
    sock = Ref(comm)
    answer = await sock.connect(await sync_to_async(_session_key)(customer))
    assert answer.startswith("44/compat,")
    assert "Invalid namespace" in answer
    await comm.disconnect()


async def test_messages_both_ways_with_typing_and_read_status(ref_socket, customer, agent):
    room = await sync_to_async(room_with_agent)(customer, agent)
    rid = str(room.pk)
    alice = await ref_socket(customer)  # follows her open room at connect
    ada = await ref_socket(agent)
    await ada.emit("join-room", {"chatRoomId": rid})
    history = await ada.expect("chat-history")
    assert (history["chatRoomId"], history["messages"]) == (rid, [])
    await alice.emit("send-message", {"chatRoomId": rid, "content": "Hi!", "messageType": "text"})
    for sock in (alice, ada):  # the sender's own socket too: the client shows it from this
        shown = await sock.expect("new-message")
        assert shown["sender"]["username"] == "alice"
        message = shown["message"]
        assert (message["chatRoomId"], message["content"], message["status"]) == (
            rid,
            "Hi!",
            "sent",
        )
        assert message["senderId"]["_id"] == str(customer.pk)
    # It reached the agent's client: delivered, per message, to both.
    delivered = await alice.expect("message-status-updated")
    assert delivered == {
        "messageId": message["_id"],
        "status": "delivered",
        "userId": str(agent.pk),
    }
    await ada.emit("typing", {"chatRoomId": rid, "isTyping": True})
    typing = await alice.expect("user-typing")
    assert typing == {
        "userId": str(agent.pk),
        "username": "agent1",
        "chatRoomId": rid,
        "isTyping": True,
    }
    await ada.emit("message-read", {"messageId": message["_id"]})
    for sock in (alice, ada):  # the reader's own copy turns read too: its loop ends
        read = await sock.expect("message-status-updated", lambda d: d["status"] == "read")
        assert read == {"messageId": message["_id"], "status": "read", "userId": str(agent.pk)}
    await ada.emit("send-message", {"chatRoomId": rid, "content": "Hello", "messageType": "text"})
    reply = await alice.expect("new-message", lambda d: d["message"]["content"] == "Hello")
    assert reply["sender"] == {"id": str(agent.pk), "username": "agent1", "role": "agent"}


async def test_a_burst_of_reads_is_one_write_and_never_rate_limited(
    ref_socket, customer, agent, settings
):
    settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST = 1, 2
    room = await sync_to_async(room_with_agent)(customer, agent)
    rid = str(room.pk)
    ada = await ref_socket(agent)
    alice = await ref_socket(customer)
    ids = []
    for n in range(6):
        await alice.emit("send-message", {"chatRoomId": rid, "content": f"m{n}"})
        ids.append((await ada.expect("new-message"))["message"]["_id"])
        await asyncio.sleep(1.05)  # alice's own sends stay within her bucket
    for message_id in ids * 5:  # the reference client's burst, repeated
        await ada.emit("message-read", {"messageId": message_id})
    read = await alice.all_of("message-status-updated", within=1.0)
    assert {d["messageId"] for d in read if d["status"] == "read"} == set(ids)
    assert await ada.all_of("error", within=0.5) == []  # not one rate_limited
    assert ada.close_code is None


async def test_sends_and_joins_spend_the_users_budget_as_on_the_products_sockets(
    ref_socket, customer, agent, settings
):
    """They cost nothing on /compat (found by the compat benchmark): the user's budget of
    issue 28 did not hold there."""
    settings.USER_BUDGET_BURST, settings.USER_BUDGET_PER_SECOND = 2, 0.01
    room = await sync_to_async(room_with_agent)(customer, agent)
    rid = str(room.pk)
    alice = await ref_socket(customer)
    for n in range(2):
        await alice.emit("send-message", {"chatRoomId": rid, "content": f"m{n}"})
        await alice.expect("new-message", lambda d, n=n: d["message"]["content"] == f"m{n}")
    await alice.emit("send-message", {"chatRoomId": rid, "content": "one too many"})
    refused = await alice.expect("error")
    assert (refused["code"], refused["event"]) == ("rate_limited", "send-message")
    await alice.emit("join-room", {"chatRoomId": rid})
    assert (await alice.expect("error"))["code"] == "rate_limited"


async def test_online_lists_are_arrays(ref_socket, customer, agent):
    await sync_to_async(room_with_agent)(customer, agent)
    alice = await ref_socket(customer)
    ada = await ref_socket(agent)
    await ada.emit("get-online-users")
    users = await ada.expect("online-users")
    assert [u["username"] for u in users] == ["alice"]
    assert set(users[0]) == {"userId", "username", "role", "socketId"}
    await alice.emit("get-online-agents")
    agents = await alice.expect("online-agents")
    assert [(a["username"], a["isOnline"]) for a in agents] == [("agent1", True)]


async def test_room_lifecycle_reaches_the_right_sockets(
    ref_socket, customer, agent, other_agent, support_admin
):
    from agents import services as routing
    from agents.tests.test_routing import online

    room = await sync_to_async(room_with_agent)(customer, agent)
    rid = str(room.pk)
    alice = await ref_socket(customer)
    ada = await ref_socket(agent)
    grace = await ref_socket(other_agent)
    await sync_to_async(online)(other_agent)
    await sync_to_async(routing.room_transfer)(
        room_id=room.pk, actor=agent, to_agent_id=other_agent.pk, note="VIP"
    )
    received = await grace.expect("agent-assignment-received")
    assert received["chatRoom"]["assignedAgent"]["_id"] == str(other_agent.pk)
    removed = await ada.expect("agent-assignment-removed")
    assert removed["chatRoomId"] == rid
    updated = await alice.expect("chat-room-updated")
    assert (updated["action"], updated["chatRoom"]["assignedAgent"]["username"]) == (
        "agent-assigned",
        "agent2",
    )
    assert "VIP" not in json.dumps([updated, *alice.inbox])
    # Grace follows the room now: the customer's next message reaches her.
    await alice.emit("send-message", {"chatRoomId": rid, "content": "Still there?"})
    await grace.expect("new-message", lambda d: d["message"]["content"] == "Still there?")
    await sync_to_async(routing.room_remove_agent)(room_id=room.pk, actor=support_admin)
    gone = await alice.expect("agent-removed")
    assert (gone["chatRoomId"], gone["removedAgentId"], gone["newAgent"]) == (
        rid,
        str(other_agent.pk),
        None,
    )
    waiting = await alice.expect("chat-room-updated", lambda d: d["action"] == "agent-removed")
    assert (waiting["chatRoom"]["status"], waiting["chatRoom"]["assignedAgent"]) == (
        "pending",
        None,
    )
    await grace.expect("agent-assignment-removed")


async def test_bad_frames_get_an_error_with_a_string_message_and_the_socket_stays(
    ref_socket, customer, agent
):
    room = await sync_to_async(room_with_agent)(customer, agent)
    alice = await ref_socket(customer)
    await alice.emit("send-message", {"content": "no room"})
    error = await alice.expect("error")
    assert (error["code"], error["event"]) == ("validation_error", "send-message")
    assert isinstance(error["message"], str)
    await alice.emit("no-such-event", {})
    assert (await alice.expect("error"))["code"] == "unknown_event"
    await alice.emit("join-room", {"chatRoomId": "0" * 24})
    assert (await alice.expect("error"))["code"] == "not_found"
    await alice.emit("send-message", {"chatRoomId": str(room.pk), "content": "still here"})
    await alice.expect("new-message")


async def test_a_frontend_origin_never_signs_in_by_its_cookie(customer):
    """A page of a compatibility origin gets the socket only without its cookie: the
    cookie the browser adds by itself opens nothing there (the session id must)."""
    from django.test import Client

    client = Client()
    await sync_to_async(client.force_login)(customer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", SPA.encode()), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = await comm.connect()
    assert connected
    sock = Ref(comm)
    assert (await sock._next(3))[0] == "0"
    await comm.send_to(text_data="40")  # the product's own namespace, by cookie
    answer = await sock._next(3)
    assert answer.startswith("44{")
    assert json.loads(answer[2:])["data"]["close_code"] == 4401
    await comm.disconnect()
    plain = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await plain.connect()
    assert connected
    closed = await plain.receive_output(3)
    assert (closed["type"], closed.get("code")) == ("websocket.close", 4401)
    await plain.disconnect()
