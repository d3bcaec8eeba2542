"""Every client event of the contract through a real daphne, each server event seen by
the right clients and not by the wrong ones; handshake refusals; sessions ending."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from websockets.exceptions import InvalidStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def about(user):
    """Frames about ``user`` (user_id, or the user of user-joined/left-room)."""
    return lambda f: (
        str(user.pk)
        in (
            f["data"].get("user_id"),
            (f["data"].get("user") or {}).get("id"),
        )
    )


async def test_no_session_is_closed_with_4401(server, ws):
    anonymous = await ws(server, None)
    assert await anonymous.wait_closed() == 4401


async def test_unknown_session_is_closed_with_4401(server):
    from tests.e2e.wsclient import WsClient

    client = await WsClient.open(server.ws_url, cookie="sessionid=not-a-session-key")
    try:
        assert await client.wait_closed() == 4401
    finally:
        await client.close()


async def test_origin_missing_or_foreign_is_refused_at_the_handshake(server, ws, customer):
    for origin in (None, "http://evil.example"):
        with pytest.raises(InvalidStatus) as refused:
            await ws(server, customer, origin=origin)
        assert refused.value.response.status_code == 403


async def test_every_client_event(server, ws, make_room, customer, other_customer, agent):
    room_id = await make_room(customer, agent)
    alice = await ws(server, customer, name="alice")
    alice_tab = await ws(server, customer, name="alice-tab")
    agent1 = await ws(server, agent, name="agent1")
    bob = await ws(server, other_customer, name="bob")

    # join-room: ack, chat-history to the caller, user-joined-room to the others
    for client in (alice, alice_tab, agent1):
        assert (await client.call("join-room", {"room_id": room_id}))["room_id"] == room_id
        history = await client.expect("chat-history")
        assert (history["data"]["messages"], history["data"]["last_seq"]) == ([], 0)
    joined = await alice.expect(
        "user-joined-room", where=lambda f: f["data"]["user"]["id"] == str(agent.pk)
    )
    assert joined["data"]["room_id"] == room_id
    assert not [f for f in agent1.seen if f["event"] == "user-joined-room" and about(agent)(f)]
    refused = await bob.request("join-room", {"room_id": room_id})
    assert refused["data"] == {
        "code": "not_found",
        "message": "No such room.",
        "event": "join-room",
    }

    # send-message: ack {message} after the write; new-message to every tab
    sent = await alice.call(
        "send-message", {"room_id": room_id, "client_msg_id": "m-1", "text": "Hello?"}
    )
    message = sent["message"]
    assert (message["seq"], message["text"], message["status"]) == (1, "Hello?", "sent")
    for client in (alice, alice_tab, agent1):
        live = await client.expect("new-message")
        assert (live["data"]["room_id"], live["data"]["seq"]) == (room_id, 1)
        assert live["data"]["message"]["id"] == message["id"]

    # typing: to the others only, stop implied after the ttl
    await agent1.call("typing", {"room_id": room_id, "is_typing": True})
    for client in (alice, alice_tab):
        typing = await client.expect("user-typing")
        assert typing["data"]["is_typing"] is True
        assert typing["data"]["user_id"] == str(agent.pk)
        assert typing["data"]["ttl_ms"] == 1500
    started = time.monotonic()
    stopped = await alice.expect("user-typing", within=5)
    assert stopped["data"]["is_typing"] is False
    assert 1.0 < time.monotonic() - started < 4
    await agent1.call("typing", {"room_id": room_id, "is_typing": True})
    await alice.expect("user-typing", where=lambda f: f["data"]["is_typing"])
    await agent1.call("typing", {"room_id": room_id, "is_typing": False})
    assert (await alice.expect("user-typing"))["data"]["is_typing"] is False
    await alice.call("typing", {"room_id": room_id, "is_typing": True})
    assert (await agent1.expect("user-typing"))["data"]["user_id"] == str(customer.pk)
    await alice.call("typing", {"room_id": room_id, "is_typing": False})
    await agent1.expect("user-typing", where=lambda f: not f["data"]["is_typing"])
    # The typist's own tabs hear nothing of it.
    await alice_tab.quiet_for(0.2, lambda f: f["event"] == "user-typing" and about(customer)(f))
    assert not [f for f in agent1.seen if f["event"] == "user-typing" and about(agent)(f)]

    # message-delivered / message-read: message-status-updated to the room
    await agent1.call("message-delivered", {"room_id": room_id, "up_to_seq": 1})
    status = await alice_tab.expect("message-status-updated")
    assert status["data"] == {
        "room_id": room_id,
        "user_id": str(agent.pk),
        "last_delivered_seq": 1,
        "last_read_seq": 0,
    }
    read = await agent1.call("message-read", {"room_id": room_id, "message_id": message["id"]})
    assert (read["last_read_seq"], read["moved"]) == (1, True)
    await alice.expect("message-status-updated", where=lambda f: f["data"]["last_read_seq"] == 1)

    # edit-message / delete-message: message-updated / message-deleted to the room
    reply = await agent1.call(
        "send-message", {"room_id": room_id, "client_msg_id": "a-1", "text": "Hi, how can I hlp?"}
    )
    agent_message = reply["message"]["id"]
    await alice.expect("new-message", where=lambda f: f["data"]["seq"] == 2)
    await agent1.call(
        "edit-message",
        {"room_id": room_id, "message_id": agent_message, "text": "Hi, how can I help?"},
    )
    updated = await alice.expect("message-updated")
    assert updated["data"]["message"]["text"] == "Hi, how can I help?"
    assert updated["data"]["seq"] == 3
    foreign_edit = await alice.request(
        "edit-message", {"room_id": room_id, "message_id": agent_message, "text": "mine now"}
    )
    assert foreign_edit["data"]["code"] == "permission_denied"
    await alice.call("delete-message", {"room_id": room_id, "message_id": message["id"]})
    for client in (agent1, alice_tab):
        deleted = await client.expect("message-deleted")
        assert deleted["data"] == {"room_id": room_id, "seq": 4, "message_id": message["id"]}

    # sync: replays what a cursor missed
    assert (await alice_tab.call("sync", {"rooms": {room_id: 2}}))["rooms"][room_id] == {
        "last_seq": 4,
        "events": 2,
    }
    replay = await alice_tab.expect("chat-history", where=lambda f: "events" in f["data"])
    assert [e["event"] for e in replay["data"]["events"]] == ["message-updated", "message-deleted"]

    # agent-status-update: agents only; user-status-changed to whoever may see it
    denied = await alice.request("agent-status-update", {"status": "away"})
    assert denied["data"]["code"] == "permission_denied"
    await agent1.call("agent-status-update", {"status": "away", "accepting_chats": False})
    for client in (alice, bob):
        change = await client.expect(
            "user-status-changed", where=lambda f: f["data"].get("status") == "away"
        )
        assert change["data"]["user_id"] == str(agent.pk)
        assert change["data"]["accepting_chats"] is False

    # get-online-users / get-online-agents: customers see agents only
    await bob.call("get-online-users")
    seen_by_bob = (await bob.expect("online-users"))["data"]["users"]
    assert [u["username"] for u in seen_by_bob] == ["agent1"]
    assert seen_by_bob[0]["status"] == "away"
    await agent1.call("get-online-users")
    seen_by_agent = (await agent1.expect("online-users"))["data"]["users"]
    assert {u["username"] for u in seen_by_agent} == {"agent1", "alice", "bob"}
    await alice.call("get-online-agents")
    agents = (await alice.expect("online-agents"))["data"]["agents"]
    assert [(a["username"], a["accepting_chats"]) for a in agents] == [("agent1", False)]

    # leave-room: user-left-room to the others, no more room events
    await agent1.call("leave-room", {"room_id": room_id})
    left = await alice.expect("user-left-room")
    assert left["data"]["user"]["id"] == str(agent.pk)
    await alice.call("send-message", {"room_id": room_id, "client_msg_id": "m-2", "text": "bye"})
    await alice_tab.expect("new-message", where=lambda f: f["data"]["seq"] == 5)

    # nothing leaked to the outsider or to the agent after leaving
    await agent1.quiet_for(0.3, lambda f: f["event"] == "new-message" and f["data"]["seq"] == 5)
    room_events = ("new-message", "message-updated", "message-deleted", "user-typing")
    assert not [f for f in bob.seen if f["event"] in room_events]
    assert not [f for f in bob.seen if f["event"] == "user-status-changed" and about(customer)(f)]


async def test_room_closed_reaches_the_room(server, ws, make_room, customer, agent):
    from chat import services

    room_id = await make_room(customer, agent)
    alice, agent1 = await ws(server, customer), await ws(server, agent)
    for client in (alice, agent1):
        await client.call("join-room", {"room_id": room_id})
    await sync_to_async(services.room_close)(room_id=room_id, actor=agent)
    for client in (alice, agent1):
        closed = await client.expect("room-closed")
        assert (closed["data"]["room_id"], closed["data"]["seq"]) == (room_id, 1)
    refused = await alice.request(
        "send-message", {"room_id": room_id, "client_msg_id": "late", "text": "hello?"}
    )
    assert refused["data"]["code"] == "room_closed"


async def test_presence_follows_connections_with_a_grace_period(
    server, ws, customer, agent, support_admin
):
    admin = await ws(server, support_admin, name="admin")
    alice = await ws(server, customer, name="alice")
    agent_tab = await ws(server, agent, name="agent-tab")
    for client in (admin, alice):
        online = await client.expect("user-status-changed", where=about(agent))
        assert (online["data"]["status"], online["data"]["online"]) == ("online", True)
    await admin.expect("user-status-changed", where=about(customer))

    # A reload (close, reopen within the grace period) is no transition.
    await agent_tab.close()
    agent_tab = await ws(server, agent, name="agent-tab-2")
    await admin.quiet_for(1.8, about(agent))

    await agent_tab.close()
    started = time.monotonic()
    offline = await alice.expect("user-status-changed", where=about(agent), within=6)
    assert (offline["data"]["status"], offline["data"]["online"]) == ("offline", False)
    assert time.monotonic() - started >= 0.8  # the grace period
    await alice.quiet_for(0.5, about(agent))  # reported once


async def test_logout_closes_that_sessions_sockets_within_a_second(server, ws, customer, login):
    from tests.e2e.wsclient import WsClient

    async with httpx.AsyncClient(base_url=server.http_url) as http:
        token = (await http.get("/api/auth/csrf")).json()["csrfToken"]
        response = await http.post(
            "/api/auth/login",
            json={"username": "alice", "password": "chat-demo-2026"},
            headers={"X-CSRFToken": token, "Origin": server.http_url},
        )
        assert response.status_code == 200, response.text
        session = http.cookies["sessionid"]
        this_session = await WsClient.open(server.ws_url, cookie=f"sessionid={session}")
        other_session = await ws(server, customer, name="other-session")
        await this_session.call("get-online-agents")
        token = http.cookies["csrftoken"]
        started = time.monotonic()
        response = await http.post(
            "/api/auth/logout", headers={"X-CSRFToken": token, "Origin": server.http_url}
        )
        assert response.status_code == 204
        assert await this_session.wait_closed(within=1) == 4401
        assert time.monotonic() - started < 1
        await this_session.close()
    await other_session.call("get-online-agents")


async def test_password_change_closes_all_the_users_sockets(server, ws, customer, other_customer):
    from accounts import services

    tabs = [await ws(server, customer, name=f"tab{i}") for i in range(2)]
    bystander = await ws(server, other_customer)
    await sync_to_async(services.user_set_password)(user=customer, password="a-new-long-pass-42")
    closed = await asyncio.gather(*(tab.wait_closed(within=1) for tab in tabs))
    assert closed == [4401, 4401]
    await bystander.call("get-online-agents")
