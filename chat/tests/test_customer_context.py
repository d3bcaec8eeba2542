"""GET /api/chat/rooms/{id}/customer-context (issue 31, item 16): the room's customer as
its agent sees them beside the chat; who may ask, what they get, and how many reads."""

from __future__ import annotations

import pytest

from chat import services
from chat.selectors.customer_context import PREVIOUS_LIMIT, customer_context
from chat.tests.factories import room_open, room_with_agent
from chat_project.errors import NotFound

pytestmark = pytest.mark.django_db(transaction=True)


def path(room) -> str:
    return f"/api/chat/rooms/{room.pk}/customer-context"


def closed_room(customer, agent, subject: str):
    room = room_with_agent(customer, agent, subject=subject)
    services.room_close(room_id=str(room.pk), actor=agent)
    return room


@pytest.fixture
def history(customer, agent, other_agent):
    """alice: two closed chats (one rated, one with agent2), then an open one with agent1."""
    first = closed_room(customer, agent, "Invoice")
    services.room_rate(room_id=str(first.pk), customer=customer, score=4, comment="ok")
    second = closed_room(customer, other_agent, "Login")
    room = room_with_agent(customer, agent, subject="Refund")
    return {"room": room, "previous": [second, first]}


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 403), ("bob", 403), ("agent2", 404), (None, 401)],
)
def test_who_may_not_ask(api, history, other_customer, support_admin, who, status):
    """Customers are refused (403, before anything is read), another agent's room is a
    404 like the room itself, and nobody signed in is a 401."""
    if who:
        api.login(who)
    response = api.get(path(history["room"]))
    assert response.status_code == status, response.content
    code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}[status]
    assert response.json()["error"]["code"] == code


def test_an_unknown_or_malformed_room_is_404(api, agent):
    api.login("agent1")
    assert api.get("/api/chat/rooms/0123456789abcdef01234567/customer-context").status_code == 404
    assert api.get("/api/chat/rooms/nope/customer-context").status_code == 404


def test_the_rooms_agent_sees_the_customer_their_address_and_earlier_chats(
    api, history, customer, agent, other_agent
):
    api.login("agent1")
    response = api.get(path(history["room"]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["room_id"] == str(history["room"].pk)
    assert body["customer"] | {"date_joined": None} == {
        "id": str(customer.pk),
        "username": "alice",
        "display_name": customer.name,
        "role": "user",
        "status": "online",
        "online": False,
        "email": "alice@example.com",  # the room's agent may follow up by mail
        "date_joined": None,
    }
    assert [(r["subject"], r["status"], r["agent"]["username"]) for r in body["previous"]] == [
        ("Login", "closed", "agent2"),
        ("Invoice", "closed", "agent1"),
    ]
    assert body["previous"][1]["rating"]["score"] == 4
    assert body["previous"][0]["rating"] is None
    assert body["more"] is False


def test_an_admin_sees_it_too(api, history, support_admin):
    api.login("admin")
    body = api.get(path(history["room"])).json()
    assert body["customer"]["email"] == "alice@example.com"
    assert len(body["previous"]) == 2


def test_only_the_serving_agent_gets_the_exception(history, agent, other_customer):
    """accounts.visibility: the customer's address goes to the agent serving them (and,
    as every account field, to admins and the customer); not to other agents, never to
    other customers."""
    from accounts.models import User
    from accounts.visibility import sees_customer_email

    alice = User.objects.get(username="alice")
    agent2 = User.objects.get(username="agent2")
    assert sees_customer_email(viewer=agent2, customer=alice, serving=False) is False
    assert sees_customer_email(viewer=agent, customer=alice, serving=True) is True
    bob = User.objects.get(username="bob")
    assert sees_customer_email(viewer=bob, customer=alice, serving=True) is False


def test_the_list_is_bounded_newest_first(customer, agent):
    for n in range(PREVIOUS_LIMIT + 2):
        closed_room(customer, agent, f"old {n}")
    room = room_with_agent(customer, agent, subject="now")
    context = customer_context(room_id=room.pk, user=agent)
    subjects = [r["subject"] for r in context["previous"]]
    assert subjects == [f"old {n}" for n in range(PREVIOUS_LIMIT + 1, 1, -1)]
    assert context["more"] is True


def test_a_first_chat_has_no_previous_ones(customer, agent, django_assert_num_queries):
    room = room_with_agent(customer, agent)
    # The room, the customer's rooms, the customer (the agent is in hand): 3, whatever
    # the number of earlier chats (their agents come in the same user read).
    with django_assert_num_queries(3):
        context = customer_context(room_id=room.pk, user=agent)
    assert context["previous"] == []
    assert context["more"] is False


def test_a_queued_room_is_nobodys_but_the_admins(customer, support_admin, agent):
    room = room_open(customer)
    with pytest.raises(NotFound):
        customer_context(room_id=room.pk, user=agent)
    assert customer_context(room_id=room.pk, user=support_admin)["customer"]["username"] == (
        "alice"
    )


def test_the_reads_do_not_grow_with_the_history(
    customer, agent, other_agent, django_assert_num_queries
):
    for n in range(4):
        closed_room(customer, agent if n % 2 else other_agent, f"old {n}")
    room = room_with_agent(customer, agent)
    with django_assert_num_queries(3):
        context = customer_context(room_id=room.pk, user=agent)
    assert len(context["previous"]) == 4
