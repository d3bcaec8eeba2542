"""Issue 28, item 5: REST sends had no rate limit, so the socket's 10 frames/s was
bypassed through REST. A user's request budget (chat_project.budget) is one bucket for
REST and the sockets; REST sends are charged (chat_project.throttling)."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync

from chat_project import budget

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(customer, agent):
    from chat.tests.factories import room_with_agent

    return room_with_agent(customer, agent)


def send(api, room):
    return api.post(
        f"/api/chat/rooms/{room.pk}/messages", {"client_msg_id": uuid.uuid4().hex, "text": "hi"}
    )


def test_rest_sends_are_charged_to_the_users_budget(api, customer, room, settings):
    settings.USER_BUDGET_BURST = 3
    settings.USER_BUDGET_PER_SECOND = 0.2
    api.force_login(customer)
    assert [send(api, room).status_code for _ in range(3)] == [201, 201, 201]
    refused = send(api, room)
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "rate_limited"
    assert int(refused["Retry-After"]) == body["details"]["retry_after"] == 5
    # reads are not charged
    assert api.get(f"/api/chat/rooms/{room.pk}/messages").status_code == 200


def test_the_socket_side_spends_from_the_same_budget(api, customer, agent, room, settings):
    settings.USER_BUDGET_BURST = 2
    settings.USER_BUDGET_PER_SECOND = 0.1
    async_to_sync(budget.auser_spend)(user_id=customer.pk, cost=2)  # as the gateway will
    api.force_login(customer)
    assert send(api, room).status_code == 429
    api.force_login(agent)  # the agent's budget is their own
    assert send(api, room).status_code == 201


def test_the_schema_documents_the_429_of_a_charged_operation(api):
    schema = api.get("/api/schema/?format=json").json()
    messages = schema["paths"]["/api/chat/rooms/{room_id}/messages"]
    assert "429" in messages["post"]["responses"]
    assert "429" not in messages["get"]["responses"]
