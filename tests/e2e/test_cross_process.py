"""Two daphne processes on different ports sharing one Valkey and one database: a
customer on one and an agent on the other exchange messages, receipts, typing and
presence."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def about(user):
    return lambda f: f["data"].get("user_id") == str(user.pk)


async def test_customer_and_agent_on_two_processes(
    server, server_b, ws, make_room, customer, agent
):
    assert server.port != server_b.port
    room_id = await make_room(customer, agent)
    alice = await ws(server, customer, name="alice@a")

    # presence: the agent comes online on B, the customer on A hears it
    agent1 = await ws(server_b, agent, name="agent1@b")
    online = await alice.expect("user-status-changed", where=about(agent))
    assert (online["data"]["status"], online["data"]["online"]) == ("online", True)
    await alice.call("get-online-agents")
    agents = (await alice.expect("online-agents"))["data"]["agents"]
    assert [a["username"] for a in agents] == ["agent1"]

    for client in (alice, agent1):
        await client.call("join-room", {"room_id": room_id})
        await client.expect("chat-history")

    # messages both ways
    await alice.call("send-message", {"room_id": room_id, "client_msg_id": "q", "text": "Hi"})
    question = await agent1.expect("new-message")
    assert (question["data"]["seq"], question["data"]["message"]["text"]) == (1, "Hi")
    await agent1.call("send-message", {"room_id": room_id, "client_msg_id": "a", "text": "Hello"})
    answer = await alice.expect("new-message", where=lambda f: f["data"]["seq"] == 2)
    assert answer["data"]["message"]["sender"]["username"] == "agent1"

    # receipts both ways
    await agent1.call("message-read", {"room_id": room_id, "up_to_seq": 1})
    status = await alice.expect("message-status-updated", where=about(agent))
    assert status["data"]["last_read_seq"] == 1
    await alice.call("message-delivered", {"room_id": room_id, "up_to_seq": 2})
    status = await agent1.expect("message-status-updated", where=about(customer))
    assert (status["data"]["last_delivered_seq"], status["data"]["last_read_seq"]) == (2, 0)

    # typing, with its implied stop
    await alice.call("typing", {"room_id": room_id, "is_typing": True})
    typing = await agent1.expect("user-typing")
    assert (typing["data"]["user_id"], typing["data"]["is_typing"]) == (str(customer.pk), True)
    assert (await agent1.expect("user-typing", within=5))["data"]["is_typing"] is False

    # the agent's manual status, then the agent going away
    await agent1.call("agent-status-update", {"status": "busy"})
    busy = await alice.expect(
        "user-status-changed", where=lambda f: about(agent)(f) and f["data"]["status"] == "busy"
    )
    assert busy["data"]["online"] is True
    await agent1.close()
    offline = await alice.expect(
        "user-status-changed",
        where=lambda f: about(agent)(f) and f["data"]["status"] == "offline",
        within=6,
    )
    assert offline["data"]["online"] is False
