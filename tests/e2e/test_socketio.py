"""Socket.IO at /socket.io/ (issue 14): the real npm socket.io-client 4.8 against a real
daphne. The same gateway as /ws/chat/ (same events, data, errors and close codes),
spoken as Socket.IO: emit with a callback is a frame with an ack, server events are
Socket.IO events, errors reach the callback as ``{"error": {...}}``."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from chat_project.gateway.socketio import POLLING_REFUSED

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def connected_in_room(client, room_id: str) -> dict:
    """Wait for the connection, join ``room_id``; the ``chat-history`` that follows."""
    await client.connected()
    ack = await client.call("join-room", {"room_id": room_id})
    assert ack["room_id"] == room_id
    return await client.expect("chat-history")


async def test_join_send_with_ack_and_new_message_on_a_second_client(
    server, sio, make_room, customer, agent
):
    room_id = await make_room(customer, agent)
    alice = await sio(server, customer, name="alice")
    agent1 = await sio(server, agent, name="agent1")
    for client in (alice, agent1):
        history = await connected_in_room(client, room_id)
        assert (history["room_id"], history["messages"], history["last_seq"]) == (room_id, [], 0)
    await alice.expect("user-joined-room", where=lambda d: d["user"]["id"] == str(agent.pk))

    sent = await alice.call(
        "send-message", {"room_id": room_id, "client_msg_id": "m-1", "text": "Hello?"}
    )
    message = sent["message"]
    assert (message["seq"], message["text"], message["client_msg_id"]) == (1, "Hello?", "m-1")
    assert await agent1.expect("new-message") == {"room_id": room_id, "seq": 1, "message": message}
    # The promise form resolves to the same single argument.
    assert await alice.emit_with_ack("get-online-agents", {}) == {"count": 1}
    refused = await alice.emit_with_ack("leave-room", {})
    assert refused["error"]["code"] == "validation_error"
    # The sender's own socket is in the room too (its other tabs see the message).
    assert (await alice.expect("new-message"))["seq"] == 1
    # A retry of the same client_msg_id is acked with the original, and not sent again.
    retry = await alice.call(
        "send-message", {"room_id": room_id, "client_msg_id": "m-1", "text": "Hello?"}
    )
    assert retry["message"]["id"] == message["id"]
    await agent1.quiet_for(0.5, lambda r: r["type"] == "event" and r["event"] == "new-message")


async def test_typing_and_receipts(server, sio, make_room, customer, agent):
    room_id = await make_room(customer, agent)
    alice = await sio(server, customer, name="alice")
    agent1 = await sio(server, agent, name="agent1")
    for client in (alice, agent1):
        await connected_in_room(client, room_id)

    assert await alice.call("typing", {"room_id": room_id, "is_typing": True}) == {
        "room_id": room_id
    }
    typing = await agent1.expect("user-typing")
    assert typing == {
        "room_id": room_id,
        "user_id": str(customer.pk),
        "username": "alice",
        "is_typing": True,
        "ttl_ms": 1500,
    }
    await alice.call("typing", {"room_id": room_id, "is_typing": False})
    assert (await agent1.expect("user-typing"))["is_typing"] is False

    await agent1.call("send-message", {"room_id": room_id, "client_msg_id": "a-1", "text": "Hi"})
    await alice.expect("new-message")
    delivered = await alice.call("message-delivered", {"room_id": room_id, "up_to_seq": 1})
    assert (delivered["last_delivered_seq"], delivered["last_read_seq"]) == (1, 0)
    read = await alice.call("message-read", {"room_id": room_id, "up_to_seq": 1})
    assert (read["last_delivered_seq"], read["last_read_seq"]) == (1, 1)
    status = await agent1.expect("message-status-updated", where=lambda d: d["last_read_seq"] == 1)
    assert status == {
        "room_id": room_id,
        "user_id": str(customer.pk),
        "last_delivered_seq": 1,
        "last_read_seq": 1,
    }


async def test_sync_after_a_reconnect_loses_and_duplicates_nothing(
    server, sio, make_room, customer, agent
):
    room_id = await make_room(customer, agent)
    alice = await sio(server, customer, name="alice")
    agent1 = await sio(server, agent, name="agent1")
    for client in (alice, agent1):
        await connected_in_room(client, room_id)

    async def agent_sends(first: int, last: int) -> None:
        for i in range(first, last + 1):
            data = {"room_id": room_id, "client_msg_id": f"a-{i}", "text": f"reply {i}"}
            assert (await agent1.call("send-message", data))["message"]["seq"] == i

    await agent_sends(1, 3)
    await alice.expect("new-message", where=lambda d: d["seq"] == 3)
    last_seq = 3  # what the client keeps per room

    # The connection breaks; messages go on meanwhile; the library reconnects by itself.
    await alice.drop()
    assert (await alice.disconnected())["reason"] != "io server disconnect"
    await agent_sends(4, 10)
    await alice.connected()
    # The new socket has no rooms: the client syncs from its cursor (README).
    ack = await alice.call("sync", {"rooms": {room_id: last_seq}})
    assert ack["rooms"][room_id]["last_seq"] == 10
    replay = await alice.expect("chat-history", where=lambda d: "events" in d)
    assert [e["data"]["seq"] for e in replay["events"]] == list(range(4, 11))
    assert {e["event"] for e in replay["events"]} == {"new-message"}
    await agent_sends(11, 11)
    await alice.expect("new-message", where=lambda d: d["seq"] == 11)

    live = [d["seq"] for d in alice.events("new-message")]
    replayed = [e["data"]["seq"] for e in replay["events"]]
    assert sorted(live + replayed) == list(range(1, 12))  # each seq exactly once


async def test_errors_reach_the_callback_and_the_socket_stays_open(
    server, sio, ws, make_room, customer, agent
):
    room_id = await make_room(customer, agent)
    alice = await sio(server, customer, name="alice")
    plain = await ws(server, customer, name="alice-ws")  # the same frames on /ws/chat/
    await alice.connected()

    async def both(event: str, data) -> dict:
        """The Socket.IO callback's error object, checked against /ws/chat/'s error."""
        reply = await alice.request(event, data)
        assert len(reply) == 1, reply
        assert set(reply[0]) == {"error"}, reply
        assert reply[0]["error"] == (await plain.request(event, data))["data"]
        return reply[0]["error"]

    unknown = await both("no-such-event", {})
    assert unknown == {
        "code": "unknown_event",
        "message": "Unknown event 'no-such-event'.",
        "event": "no-such-event",
    }
    invalid = await both("send-message", {"room_id": room_id, "text": 5})
    assert invalid["code"] == "validation_error"
    assert set(invalid["details"]["fields"]) == {"client_msg_id", "text"}
    not_an_object = await both("join-room", "room")
    assert not_an_object["details"] == {"fields": {"data": ["Must be an object."]}}
    assert (await both("join-room", {"room_id": "0" * 24}))["code"] == "not_found"

    # Binary data is refused like a binary frame on /ws/chat/; its attachment is dropped.
    (binary,) = await alice.request("send-message", {"room_id": room_id, "file": {"$bytes": "x"}})
    assert binary["error"]["code"] == "bad_json"
    # Without a callback, the error is the `error` event (as with no ack on /ws/chat/).
    await alice.emit("no-such-event", {})
    assert (await alice.expect("error"))["code"] == "unknown_event"

    await alice.call("join-room", {"room_id": room_id})  # still open, still working
    assert not [r for r in alice.seen if r["type"] in ("disconnect", "connect_error")]
    assert server.tracebacks() == []


async def test_logout_closes_the_socket_with_4401(server, sio, customer):
    from tests.e2e.sioclient import SioClient

    async with httpx.AsyncClient(base_url=server.http_url) as http:
        token = (await http.get("/api/auth/csrf")).json()["csrfToken"]
        response = await http.post(
            "/api/auth/login",
            json={"username": "alice", "password": "chat-demo-2026"},
            headers={"X-CSRFToken": token, "Origin": server.http_url},
        )
        assert response.status_code == 200, response.text
        cookie = f"sessionid={http.cookies['sessionid']}"
        alice = await SioClient.open(server.http_url, cookie=cookie, name="alice")
        try:
            await alice.connected()
            response = await http.post(
                "/api/auth/logout",
                headers={"X-CSRFToken": http.cookies["csrftoken"], "Origin": server.http_url},
            )
            assert response.status_code == 204
            gone = await alice.disconnected(within=2)
            assert (gone["reason"], gone["code"]) == ("transport close", 4401)
            # The library reconnects once; the ended session is refused for good.
            refused = await alice.connect_error()
            assert refused["message"] == "not authenticated"
            assert refused["data"] == {"close_code": 4401, "reason": "not authenticated"}
            assert refused["active"] is False  # no more attempts
            await alice.quiet_for(1.0, lambda r: r["type"] in ("connect", "connect_error"))
        finally:
            await alice.close()


async def test_refused_origin_session_namespace_and_polling(server, sio, customer):
    foreign = await sio(server, customer, name="foreign", origin="http://evil.example")
    assert (await foreign.connect_error())["message"] == "websocket error"  # HTTP 403

    anonymous = await sio(server, None, name="anonymous")
    refused = await anonymous.connect_error()
    assert (refused["message"], refused["data"]["close_code"]) == ("not authenticated", 4401)

    admin_ns = await sio(server, customer, name="admin-ns", namespace="/admin")
    invalid = await admin_ns.connect_error()
    assert invalid["message"] == "Invalid namespace"
    assert invalid["data"] == {"code": "not_found", "namespace": "/admin", "namespaces": ["/"]}

    polling = await sio(server, customer, name="polling", transports=["polling"])
    refused = await polling.connect_error()
    assert (refused["message"], refused["description"]) == ("xhr poll error", 400)
    body = json.loads(refused["body"])  # the response the client's error carries
    assert body["message"] == POLLING_REFUSED
    assert 'io(url, { transports: ["websocket"] })' in POLLING_REFUSED
    assert body["error"]["details"] == {"transport": "polling", "transports": ["websocket"]}

    for client in (foreign, anonymous, admin_ns, polling):
        assert not [r for r in client.seen if r["type"] == "connect"], client.name


async def test_polling_first_clients_get_in_with_try_all_transports(server, sio, customer):
    both = await sio(
        server, customer, name="both", transports=["polling", "websocket"], tryAllTransports=True
    )
    await both.connected()
    assert await both.call("get-online-agents", {}) == {"count": 0}


async def test_socketio_and_websocket_clients_in_one_room(
    server, sio, ws, make_room, customer, agent
):
    room_id = await make_room(customer, agent)
    alice = await sio(server, customer, name="alice")
    await connected_in_room(alice, room_id)
    agent1 = await ws(server, agent, name="agent1")
    await agent1.call("join-room", {"room_id": room_id})

    sent = await alice.call("send-message", {"room_id": room_id, "client_msg_id": "c", "text": "?"})
    frame = await agent1.expect("new-message")
    assert frame["data"] == {"room_id": room_id, "seq": 1, "message": sent["message"]}

    reply = await agent1.call(
        "send-message", {"room_id": room_id, "client_msg_id": "a", "text": "!"}
    )
    assert await alice.expect("new-message", where=lambda d: d["seq"] == 2) == {
        "room_id": room_id,
        "seq": 2,
        "message": reply["message"],
    }
    await agent1.call("typing", {"room_id": room_id, "is_typing": True})
    assert (await alice.expect("user-typing"))["user_id"] == str(agent.pk)
    await alice.call("message-read", {"room_id": room_id, "up_to_seq": 2})
    status = await agent1.expect("message-status-updated")
    assert (status["data"]["user_id"], status["data"]["last_read_seq"]) == (str(customer.pk), 2)


async def test_heartbeat_keeps_an_idle_socket_open(server, sio, customer):
    alice = await sio(server, customer, name="alice")
    await alice.connected()
    await asyncio.sleep(3.5)  # the client drops a socket after 1 + 3 s without a ping
    pings = [r for r in alice.seen if r["type"] == "ping"]
    assert len(pings) >= 2
    assert not [r for r in alice.seen if r["type"] == "disconnect"]
    assert await alice.call("get-online-agents", {}) == {"count": 0}
