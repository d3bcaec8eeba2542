"""The gateway through the whole ASGI stack (origin check, session auth, routing) with
Channels' WebsocketCommunicator, against the embedded MongoDB and Valkey. The real
daphne processes are in tests/e2e/."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from chat.models import Room
from chat_project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
_acks = itertools.count(1)


def _cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Sock:
    """A communicator with an inbox: wait for one event while others pile up."""

    def __init__(self, comm: WebsocketCommunicator, name: str) -> None:
        self.comm = comm
        self.name = name
        self.inbox: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def _next(self, within: float) -> dict[str, Any]:
        output = await self.comm.receive_output(within)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            raise ConnectionError(f"{self.name} closed with {self.close_code}")
        return json.loads(output["text"])

    async def expect(self, event: str, where=None, within: float = 3.0) -> dict[str, Any]:
        for index, frame in enumerate(self.inbox):
            if frame["event"] == event and (where is None or where(frame)):
                return self.inbox.pop(index)
        async with asyncio.timeout(within):
            while True:
                frame = await self._next(within)
                if frame["event"] == event and (where is None or where(frame)):
                    return frame
                self.inbox.append(frame)

    async def nothing(self, event: str, where=None, within: float = 0.3) -> None:
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            frame = await self.expect(event, where, within)
            raise AssertionError(f"{self.name} got {frame}")

    async def send(self, event: str, data: Any = None, ack: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": {} if data is None else data}
        if ack is not None:
            frame["ack"] = ack
        await self.comm.send_to(text_data=json.dumps(frame))

    async def request(self, event: str, data: Any = None) -> dict[str, Any]:
        ack = f"a{next(_acks)}"
        await self.send(event, data, ack)
        return await self.expect("ack", lambda f: f.get("ack") == ack)

    async def reply(self, event: str, data: Any = None) -> dict[str, Any]:
        """The ack or error answering a frame."""
        ack = f"a{next(_acks)}"
        await self.send(event, data, ack)
        async with asyncio.timeout(3):
            while True:
                for index, frame in enumerate(self.inbox):
                    if frame.get("ack") == ack and frame["event"] in ("ack", "error"):
                        return self.inbox.pop(index)
                frame = await self._next(3)
                if frame.get("ack") == ack and frame["event"] in ("ack", "error"):
                    return frame
                self.inbox.append(frame)

    async def error(self, raw: str | bytes) -> dict[str, Any]:
        if isinstance(raw, bytes):
            await self.comm.send_to(bytes_data=raw)
        else:
            await self.comm.send_to(text_data=raw)
        return (await self.expect("error"))["data"]

    async def closed(self, within: float = 3.0) -> int | None:
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(within):
                while True:
                    self.inbox.append(await self._next(within))
        return self.close_code

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self.comm.disconnect()


@pytest.fixture
async def connect():
    opened: list[Sock] = []

    async def open_socket(user=None, *, headers=None, name: str = "") -> Sock:
        if headers is None:
            headers = [ORIGIN]
            if user is not None:
                headers.append((b"cookie", await sync_to_async(_cookie)(user)))
        comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, _ = await comm.connect()
        assert connected, "handshake refused"
        sock = Sock(comm, name or getattr(user, "username", "anon"))
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        await sock.disconnect()


@pytest.fixture
def room(customer, agent):
    from chat.tests.factories import room_with_agent

    return room_with_agent(customer, agent)


def rid(room) -> str:
    return str(room.pk)


# --- Handshake ---------------------------------------------------------------------------


async def test_no_session_is_closed_with_4401(connect):
    sock = await connect(None)
    assert await sock.closed() == 4401


async def test_missing_or_foreign_origin_is_refused(customer):
    cookie = (b"cookie", await sync_to_async(_cookie)(customer))
    for headers in ([cookie], [(b"origin", b"http://evil.example"), cookie]):
        comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, _ = await comm.connect()
        assert not connected
        await comm.disconnect()


async def test_socket_cap_per_user(connect, customer, settings):
    settings.WS_MAX_SOCKETS_PER_USER = 2
    first = await connect(customer)
    await connect(customer)
    third = await connect(customer)
    assert await third.closed() == 4409
    await first.disconnect()  # frees a place at once (the lease grace does not count)
    fourth = await connect(customer)
    assert (await fourth.reply("get-online-agents"))["event"] == "ack"


async def test_a_stale_or_logged_out_session_is_closed_with_4401(connect, customer):
    from django.contrib.sessions.models import Session

    headers = [ORIGIN, (b"cookie", await sync_to_async(_cookie)(customer))]
    key = headers[1][1].decode().split("=", 1)[1]
    await sync_to_async(Session.objects.filter(session_key=key).delete)()
    await sync_to_async(_clear_session_cache)(key)
    sock = await connect(customer, headers=headers)
    assert await sock.closed() == 4401


def _clear_session_cache(key: str) -> None:
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import caches

    caches["default"].delete(KEY_PREFIX + key)


async def test_handshakes_over_the_bound_are_refused_at_once_with_4013(connect, customer, settings):
    settings.WS_MAX_PENDING_HANDSHAKES = 0
    settings.WS_MAX_QUEUED_HANDSHAKES = 0  # no line to wait in
    sock = await connect(customer)
    assert await sock.closed(within=1) == 4013
    from accounts import presence

    assert str(customer.pk) not in await presence.aonline_user_ids()  # nothing was read


async def test_socket_auth_leaves_no_cache_client_in_the_sockets_context(customer):
    """Regression (issue 8, scenario 1): sync_to_async copied Django's per-context cache
    handle back into each socket's task: ~17 KB kept per idle socket."""
    import contextvars

    from django.core.cache import caches

    from accounts import async_services

    cookie = await sync_to_async(_cookie)(customer)
    key = cookie.decode().split("=", 1)[1]

    async def auth_then_look() -> tuple[object, object]:
        user = await async_services.socket_user(session_key=key)
        return user, getattr(caches._connections, "default", None)

    task = asyncio.get_running_loop().create_task(auth_then_look(), context=contextvars.Context())
    user, cache = await task
    assert user is not None
    assert user.pk == customer.pk
    assert cache is None


# --- Bad frames --------------------------------------------------------------------------


async def test_bad_frames_get_their_error_and_the_socket_stays_usable(connect, customer):
    sock = await connect(customer)
    assert (await sock.error("{not json"))["code"] == "bad_json"
    assert (await sock.error(b"\x00\xff binary"))["code"] == "bad_json"
    assert (await sock.error("[1, 2]"))["code"] == "validation_error"
    assert (await sock.error('"text"'))["code"] == "validation_error"
    assert (await sock.error("[" * 5000 + "]" * 5000))["code"] == "bad_json"
    assert (await sock.error('{"event": 5}'))["code"] == "validation_error"
    unknown = await sock.error('{"event": "explode"}')
    assert unknown == {"code": "unknown_event", "message": unknown["message"], "event": "explode"}
    missing = await sock.error('{"event": "join-room", "data": {}}')
    assert missing["code"] == "validation_error"
    assert missing["details"]["fields"]["room_id"] == ["This field is required."]
    wrong = await sock.error('{"event": "join-room", "data": {"room_id": "x", "after_seq": true}}')
    assert wrong["details"]["fields"] == {"after_seq": ["Must be an integer."]}
    surrogate = await sock.error('{"event": "join-room", "data": {"room_id": "\\ud800"}}')
    assert surrogate["code"] == "validation_error"
    assert (await sock.error('{"event": "join-room", "data": []}'))["code"] == "validation_error"
    assert (await sock.reply("get-online-agents"))["event"] == "ack"


async def test_failing_frame_echoes_ack_and_success_acks(connect, customer):
    sock = await connect(customer)
    await sock.send("join-room", {"room_id": "000000000000000000000000"}, ack="mine-1")
    error = await sock.expect("error")
    assert error["ack"] == "mine-1"
    assert error["data"] == {"code": "not_found", "message": "No such room.", "event": "join-room"}
    await sock.send("join-room", {"room_id": "nope"})
    assert (await sock.expect("error"))["ack"] is None
    await sock.send("get-online-agents", {}, ack="mine-2")
    ack = await sock.expect("ack")
    assert ack == {"event": "ack", "ack": "mine-2", "data": {"count": 0}}


async def test_frame_too_large_errors_then_closes(connect, customer, settings):
    settings.WS_MAX_FRAME_BYTES = 200
    sock = await connect(customer)
    big = json.dumps({"event": "typing", "data": {"room_id": "é" * 150}})
    assert (await sock.error(big))["code"] == "frame_too_large"
    assert await sock.closed() == 4413


async def test_rate_limit_answers_then_closes_after_repeated_abuse(connect, customer, settings):
    settings.WS_RATE_PER_SECOND = 0.01
    settings.WS_RATE_BURST = 3
    settings.WS_RATE_STRIKES = 4
    sock = await connect(customer)
    for _ in range(3):
        assert (await sock.reply("get-online-agents"))["event"] == "ack"
    limited = await sock.reply("get-online-agents")
    assert limited["data"]["code"] == "rate_limited"
    assert limited["data"]["details"]["retry_after"] >= 1
    for _ in range(3):
        await sock.send("get-online-agents")
    assert await sock.closed() == 4429


# --- Rooms, messages, receipts -----------------------------------------------------------


async def test_join_sends_history_and_tells_the_others(connect, room, customer, agent):
    from chat.tests.factories import send

    await sync_to_async(send)(room, customer, "before")
    alice = await connect(customer)
    agent_sock = await connect(agent)
    await agent_sock.request("join-room", {"room_id": rid(room)})
    history = await agent_sock.expect("chat-history")
    assert [m["text"] for m in history["data"]["messages"]] == ["before"]
    assert history["data"]["last_seq"] == 1

    ack = await alice.request("join-room", {"room_id": rid(room)})
    assert ack["data"] == {"room_id": rid(room), "last_seq": 1}
    joined = await agent_sock.expect("user-joined-room")
    assert joined["data"]["user"]["username"] == "alice"
    await alice.nothing("user-joined-room", lambda f: f["data"]["user"]["username"] == "alice")


async def test_send_message_acks_and_reaches_every_tab_but_not_outsiders(
    connect, room, customer, agent, other_customer
):
    tab1, tab2 = await connect(customer, name="tab1"), await connect(customer, name="tab2")
    agent_sock, outsider = await connect(agent), await connect(other_customer)
    for sock in (tab1, tab2, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    denied = await outsider.reply("join-room", {"room_id": rid(room)})
    assert denied["data"]["code"] == "not_found"

    ack = await tab1.request(
        "send-message", {"room_id": rid(room), "client_msg_id": "c1", "text": "hi"}
    )
    message = ack["data"]["message"]
    assert (message["seq"], message["text"], message["client_msg_id"]) == (1, "hi", "c1")
    for sock in (tab1, tab2, agent_sock):
        frame = await sock.expect("new-message")
        assert frame["data"]["seq"] == 1
        assert frame["data"]["room_id"] == rid(room)
        assert frame["data"]["message"]["id"] == message["id"]
    await outsider.nothing("new-message")

    again = await tab2.request(
        "send-message", {"room_id": rid(room), "client_msg_id": "c1", "text": "hi"}
    )
    assert again["data"]["message"]["id"] == message["id"]
    await agent_sock.nothing("new-message")
    conflict = await tab2.reply(
        "send-message", {"room_id": rid(room), "client_msg_id": "c1", "text": "other"}
    )
    assert conflict["data"]["code"] == "idempotency_conflict"


async def test_edit_delete_and_receipts_reach_the_room(connect, room, customer, agent):
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    sent = await alice.request(
        "send-message", {"room_id": rid(room), "client_msg_id": "c1", "text": "helo"}
    )
    message_id = sent["data"]["message"]["id"]
    await alice.request(
        "edit-message", {"room_id": rid(room), "message_id": message_id, "text": "hello"}
    )
    updated = await agent_sock.expect("message-updated")
    assert (updated["data"]["seq"], updated["data"]["message"]["text"]) == (2, "hello")

    await agent_sock.request("message-delivered", {"room_id": rid(room), "up_to_seq": 1})
    status = await alice.expect("message-status-updated")
    assert status["data"]["last_delivered_seq"] == 1
    assert status["data"]["user_id"] == str(agent.pk)
    receipt = await agent_sock.request(
        "message-read", {"room_id": rid(room), "message_id": message_id}
    )
    assert receipt["data"]["last_read_seq"] == 1
    assert (await alice.expect("message-status-updated"))["data"]["last_read_seq"] == 1
    both = await agent_sock.reply(
        "message-read", {"room_id": rid(room), "up_to_seq": 1, "message_id": message_id}
    )
    assert both["data"]["code"] == "validation_error"

    await alice.request("delete-message", {"room_id": rid(room), "message_id": message_id})
    deleted = await agent_sock.expect("message-deleted")
    assert deleted["data"] == {"room_id": rid(room), "seq": 3, "message_id": message_id}


async def test_a_rooms_receipts_are_written_together_and_each_is_acked(
    connect, room, customer, agent, settings
):
    """delivered then read within WS_RECEIPT_COALESCE_SECONDS: one watermark write, one
    ``message-status-updated`` with both, and each receipt acked with that result."""
    settings.WS_RECEIPT_COALESCE_SECONDS = 0.3
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    for n in (1, 2):
        await alice.request(
            "send-message", {"room_id": rid(room), "client_msg_id": f"c{n}", "text": "hi"}
        )
    await agent_sock.send("message-delivered", {"room_id": rid(room), "up_to_seq": 2}, "d")
    await agent_sock.send("message-read", {"room_id": rid(room), "up_to_seq": 1}, "r")
    acks = [await agent_sock.expect("ack", lambda f, a=a: f.get("ack") == a) for a in "dr"]
    marks = [(a["data"]["last_delivered_seq"], a["data"]["last_read_seq"]) for a in acks]
    assert marks == [(2, 1), (2, 1)]
    status = await alice.expect("message-status-updated")
    assert (status["data"]["last_delivered_seq"], status["data"]["last_read_seq"]) == (2, 1)
    await alice.nothing("message-status-updated")
    stored = await sync_to_async(lambda: Room.objects.get(pk=room.pk).watermark(agent.pk))()
    assert stored == (2, 1)


async def test_without_coalescing_each_receipt_is_written_at_once(
    connect, room, customer, agent, settings
):
    settings.WS_RECEIPT_COALESCE_SECONDS = 0
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await alice.request("send-message", {"room_id": rid(room), "client_msg_id": "c", "text": "x"})
    mark = {"room_id": rid(room), "up_to_seq": 1}
    delivered = await agent_sock.request("message-delivered", mark)
    assert (delivered["data"]["last_delivered_seq"], delivered["data"]["moved"]) == (1, True)
    assert (await alice.expect("message-status-updated"))["data"]["last_read_seq"] == 0
    read = await agent_sock.request("message-read", mark)
    assert (read["data"]["last_read_seq"], read["data"]["moved"]) == (1, True)
    assert (await alice.expect("message-status-updated"))["data"]["last_read_seq"] == 1


async def test_receipts_still_pending_are_written_when_the_socket_leaves(
    connect, room, customer, agent, settings
):
    settings.WS_RECEIPT_COALESCE_SECONDS = 30  # longer than the test: only leaving flushes
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await alice.request("send-message", {"room_id": rid(room), "client_msg_id": "c", "text": "x"})
    await agent_sock.send("message-read", {"room_id": rid(room), "up_to_seq": 1}, "r")
    await agent_sock.disconnect()
    status = await alice.expect("message-status-updated")
    assert status["data"]["last_read_seq"] == 1
    stored = await sync_to_async(lambda: Room.objects.get(pk=room.pk).watermark(agent.pk))()
    assert stored == (1, 1)


async def test_join_after_seq_replays_then_live_without_duplicates(connect, room, customer, agent):
    from chat.tests.factories import send

    for text in ("one", "two", "three"):
        await sync_to_async(send)(room, customer, text)
    sock = await connect(agent)
    await sock.request("join-room", {"room_id": rid(room), "after_seq": 1})
    history = await sock.expect("chat-history")
    assert [e["data"]["seq"] for e in history["data"]["events"]] == [2, 3]
    # A late live copy of an event the replay had is dropped; the next one goes through.
    layer = get_channel_layer()
    stale = {"type": "room.event", "room_id": rid(room), "seq": 3, "event": "new-message"}
    await layer.group_send(f"room.{rid(room)}", {**stale, "data": {"x": 1}})
    await sync_to_async(send)(room, customer, "four")
    live = await sock.expect("new-message")
    assert live["data"]["seq"] == 4
    await sock.nothing("new-message")


async def test_lost_fan_out_is_repaired_from_the_database(connect, room, customer, agent, settings):
    from chat.tests.factories import send

    settings.WS_GAP_REPAIR_SECONDS = 0.1
    sock = await connect(agent)
    await sock.request("join-room", {"room_id": rid(room)})
    # seq 1 and 2 are written but their fan-out is lost; seq 3 arrives live.
    await sync_to_async(send)(room, customer, "one", client_msg_id="m1")
    await sock.expect("new-message")
    from unittest import mock

    with mock.patch("chat.events.publish"):
        await sync_to_async(send)(room, customer, "two")
        await sync_to_async(send)(room, customer, "three")
    await sync_to_async(send)(room, customer, "four")
    seqs = [(await sock.expect("new-message"))["data"]["seq"] for _ in range(3)]
    assert sorted(seqs) == [2, 3, 4]
    assert seqs[0] == 4  # live first, the gap repaired after
    await sock.nothing("new-message")


async def test_sync_replays_each_room_and_refuses_what_cannot_be(connect, room, customer, agent):
    from chat.tests.factories import send

    for text in ("one", "two"):
        await sync_to_async(send)(room, customer, text)
    sock = await connect(customer)
    ack = await sock.reply(
        "sync", {"rooms": {rid(room): 1, "000000000000000000000000": 0, "bad": 0}}
    )
    assert ack["data"]["rooms"] == {rid(room): {"last_seq": 2, "events": 1}}
    assert ack["data"]["failed"] == {"000000000000000000000000": "not_found", "bad": "not_found"}
    history = await sock.expect("chat-history")
    assert [e["data"]["message"]["text"] for e in history["data"]["events"]] == ["two"]
    ahead = await sock.reply("sync", {"rooms": {rid(room): 99}})
    assert ahead["data"]["failed"] == {rid(room): "resync_required"}
    error = await sock.expect("error", lambda f: f["data"]["code"] == "resync_required")
    assert error["data"]["details"]["room_id"] == rid(room)
    # still subscribed from the first sync: live continues
    await sync_to_async(send)(room, agent, "three")
    assert (await sock.expect("new-message"))["data"]["seq"] == 3


async def test_revoked_access_stops_delivery_at_once(connect, room, customer, agent):
    from chat import events
    from chat.tests.factories import send

    agent_sock = await connect(agent)
    await agent_sock.request("join-room", {"room_id": rid(room)})
    await sync_to_async(events.room_access_revoked)(room_id=room.pk, user_ids=[agent.pk])
    await sync_to_async(send)(room, customer, "secret")
    await agent_sock.nothing("new-message")
    typing = await agent_sock.reply("typing", {"room_id": rid(room), "is_typing": True})
    assert typing["data"]["code"] == "not_found"


async def test_leave_room_stops_delivery_and_tells_the_others(connect, room, customer, agent):
    from chat.tests.factories import send

    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await agent_sock.request("leave-room", {"room_id": rid(room)})
    assert (await alice.expect("user-left-room"))["data"]["user"]["id"] == str(agent.pk)
    await sync_to_async(send)(room, customer, "anyone?")
    await agent_sock.nothing("new-message")


# --- Typing ------------------------------------------------------------------------------


async def test_typing_goes_to_others_throttled_and_stops_by_itself(
    connect, room, customer, agent, settings
):
    settings.WS_TYPING_TTL_SECONDS = 0.5
    settings.WS_TYPING_THROTTLE_SECONDS = 10
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await alice.request("typing", {"room_id": rid(room), "is_typing": True})
    typing = await agent_sock.expect("user-typing")
    assert typing["data"] == {
        "room_id": rid(room),
        "user_id": str(customer.pk),
        "username": "alice",
        "is_typing": True,
        "ttl_ms": 500,
    }
    await alice.request("typing", {"room_id": rid(room), "is_typing": True})  # throttled
    await agent_sock.nothing("user-typing", lambda f: f["data"]["is_typing"], within=0.2)
    stopped = await agent_sock.expect("user-typing", within=2)  # no refresh: implied stop
    assert stopped["data"]["is_typing"] is False
    await alice.nothing("user-typing")


async def test_a_typing_start_stopped_within_the_hold_is_never_announced(
    connect, room, customer, agent, settings
):
    """Issue 29: typing on, the message, typing off (what a client sends around a quick
    reply) cost two Redis calls, two fan-outs and two frames per message, for an
    indicator on and off within milliseconds. Started and stopped, or followed by a
    message, within ``WS_TYPING_HOLD_SECONDS``: the others hear nothing; longer: the
    start and the stop as before."""
    settings.WS_TYPING_HOLD_SECONDS = 0.3
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})

    await alice.request("typing", {"room_id": rid(room), "is_typing": True})
    await alice.request("typing", {"room_id": rid(room), "is_typing": False})
    await alice.request("typing", {"room_id": rid(room), "is_typing": True})
    await alice.request(
        "send-message", {"room_id": rid(room), "client_msg_id": "quick-1", "text": "hi"}
    )
    await alice.request("typing", {"room_id": rid(room), "is_typing": False})
    await agent_sock.expect("new-message")
    await agent_sock.nothing("user-typing", within=0.6)

    await alice.request("typing", {"room_id": rid(room), "is_typing": True})
    await agent_sock.nothing("user-typing", within=0.15)  # still on hold
    began = await agent_sock.expect("user-typing", within=1)
    assert began["data"]["is_typing"] is True
    await alice.request("typing", {"room_id": rid(room), "is_typing": False})
    assert (await agent_sock.expect("user-typing"))["data"]["is_typing"] is False


async def test_typing_stops_when_the_typist_disconnects(connect, room, customer, agent):
    alice, agent_sock = await connect(customer), await connect(agent)
    for sock in (alice, agent_sock):
        await sock.request("join-room", {"room_id": rid(room)})
    await alice.request("typing", {"room_id": rid(room), "is_typing": True})
    await agent_sock.expect("user-typing")
    await alice.disconnect()
    assert (await agent_sock.expect("user-typing"))["data"]["is_typing"] is False


async def test_an_admin_who_only_reads_a_room_cannot_type_in_it(
    connect, room, customer, support_admin
):
    """Issue 28, item 10: an admin who joined a room (every room is theirs to read) emitted
    ``typing`` and its customer saw ``user-typing`` from him; only participants type."""
    alice, admin = await connect(customer), await connect(support_admin)
    for sock in (alice, admin):
        await sock.request("join-room", {"room_id": rid(room)})
    refused = await admin.reply("typing", {"room_id": rid(room), "is_typing": True})
    assert (refused["event"], refused["data"]["code"]) == ("error", "permission_denied")
    await alice.nothing("user-typing", within=0.3)


# --- Presence ----------------------------------------------------------------------------


async def test_presence_transitions_and_visibility(
    connect, customer, other_customer, agent, support_admin, settings
):
    settings.WS_PRESENCE_GRACE_SECONDS = 0.2
    settings.WS_PRESENCE_SWEEP_SECONDS = 0.1
    admin_sock = await connect(support_admin)
    bob = await connect(other_customer)
    agent_tab1 = await connect(agent)
    for sock in (admin_sock, bob):
        frame = await sock.expect("user-status-changed", lambda f: f["data"]["role"] == "agent")
        assert frame["data"]["status"] == "online"
        assert frame["data"]["online"] is True
    await connect(customer)
    await admin_sock.expect(
        "user-status-changed", lambda f: f["data"]["user_id"] == str(customer.pk)
    )
    await bob.nothing("user-status-changed", lambda f: f["data"]["role"] == "user")

    # A second tab is no transition; closing one of two is none either.
    agent_tab2 = await connect(agent)
    await agent_tab2.disconnect()
    await admin_sock.nothing(
        "user-status-changed", lambda f: f["data"]["user_id"] == str(agent.pk), within=0.6
    )

    online = (await bob.request("get-online-users")) and await bob.expect("online-users")
    assert {u["username"] for u in online["data"]["users"]} == {"agent1"}
    await admin_sock.request("get-online-users")
    everyone = await admin_sock.expect("online-users")
    assert {u["username"] for u in everyone["data"]["users"]} == {"admin", "bob", "agent1", "alice"}
    await bob.request("get-online-agents")
    agents = (await bob.expect("online-agents"))["data"]["agents"]
    assert [(a["username"], a["accepting_chats"]) for a in agents] == [("agent1", True)]

    await agent_tab1.disconnect()
    offline = await bob.expect(
        "user-status-changed", lambda f: f["data"]["user_id"] == str(agent.pk), within=3
    )
    assert (offline["data"]["status"], offline["data"]["online"]) == ("offline", False)


async def test_agent_status_update_is_for_agents_and_is_announced(
    connect, customer, agent, other_agent
):
    alice, colleague, agent_sock = (
        await connect(customer),
        await connect(other_agent),
        await connect(agent),
    )
    refused = await alice.reply("agent-status-update", {"status": "busy"})
    assert refused["data"]["code"] == "permission_denied"
    bad = await agent_sock.reply("agent-status-update", {"status": "asleep"})
    assert bad["data"]["code"] == "validation_error"
    ack = await agent_sock.request(
        "agent-status-update", {"status": "busy", "accepting_chats": False}
    )
    assert ack["data"] == {"status": "busy", "accepting_chats": False}
    for sock in (alice, colleague):
        frame = await sock.expect(
            "user-status-changed",
            lambda f: f["data"]["user_id"] == str(agent.pk) and f["data"]["status"] == "busy",
        )
        assert frame["data"]["accepting_chats"] is False
    from accounts.models import User

    stored = await sync_to_async(User.objects.get)(pk=agent.pk)
    assert (stored.status, stored.accepting_chats) == ("busy", False)


# --- Sessions ----------------------------------------------------------------------------


async def test_logout_closes_that_sessions_sockets_and_password_change_all(connect, customer):
    from accounts import events

    headers_a = [ORIGIN, (b"cookie", await sync_to_async(_cookie)(customer))]
    cookie_b = await sync_to_async(_cookie)(customer)
    session_a = await connect(customer, headers=headers_a)
    session_b = await connect(customer, headers=[ORIGIN, (b"cookie", cookie_b)])
    key_a = headers_a[1][1].decode().split("=", 1)[1]
    await sync_to_async(events.session_ended)(user_id=customer.pk, session_key=key_a)
    assert await session_a.closed(within=1) == 4401
    assert (await session_b.reply("get-online-agents"))["event"] == "ack"
    await sync_to_async(events.user_credentials_changed)(customer.pk)
    assert await session_b.closed(within=1) == 4401


async def test_heartbeat_keeps_a_connected_user_online_past_the_lease_ttl(
    connect, customer, support_admin, settings
):
    from accounts import presence

    settings.WS_PRESENCE_TTL_SECONDS = 0.6
    settings.WS_HEARTBEAT_SECONDS = 0.2
    settings.WS_PRESENCE_SWEEP_SECONDS = 0.1
    admin_sock = await connect(support_admin)
    await connect(customer)
    await admin_sock.expect(
        "user-status-changed", lambda f: f["data"]["user_id"] == str(customer.pk)
    )
    await asyncio.sleep(1.5)  # well past the ttl: only the heartbeat keeps the lease
    assert str(customer.pk) in await presence.aonline_user_ids()
    await admin_sock.nothing(
        "user-status-changed", lambda f: f["data"]["user_id"] == str(customer.pk)
    )


# --- Units -------------------------------------------------------------------------------


async def test_a_socket_too_far_behind_is_closed_not_buffered(settings):
    from chat.gateway.consumer import ChatConsumer

    settings.WS_MAX_BACKLOG = 3
    consumer = ChatConsumer()
    sent: list[dict] = []

    async def base_send(message):
        sent.append(message)

    consumer.base_send = base_send
    consumer._inbox = asyncio.Queue()
    for i in range(4):
        consumer._inbox.put_nowait(i)
    await consumer.dispatch({"type": "room.event", "room_id": "r", "seq": 1})
    assert sent == [{"type": "websocket.close", "code": 4503, "reason": "too slow"}]


async def test_user_events_reach_every_socket_of_that_user_only(connect, agent, other_agent):
    """Routing publishes ``room-assigned`` / ``queue-updated`` to group ``user.<id>``."""
    from accounts.events import user_group

    tabs = [await connect(agent, name="tab1"), await connect(agent, name="tab2")]
    colleague = await connect(other_agent)
    data = {"room_id": "r1", "seq": 3}
    message = {"type": "user.event", "event": "room-assigned", "data": data}
    await get_channel_layer().group_send(user_group(agent.pk), message)
    for tab in tabs:
        assert (await tab.expect("room-assigned"))["data"] == data
    await colleague.nothing("room-assigned")
