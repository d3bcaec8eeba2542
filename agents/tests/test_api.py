"""POST /api/chat/assign-agent, POST /api/chat/transfer, GET /api/chat/queue."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts import presence
from accounts.models import User
from chat import services as chat_services
from chat.models import Room

pytestmark = pytest.mark.django_db(transaction=True)

ZERO_ID = "0" * 24


def online(*agents):
    for agent in agents:
        presence.lease_touch(user_id=str(agent.pk), conn_id="c", ttl_seconds=300)


def queued_room(customer) -> Room:
    dto, _ = chat_services.room_create(customer=customer, subject="help")
    return Room.objects.get(pk=dto["id"])


def code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, 401),
        ("alice", 403),
        ("agent1", 200),
        ("admin", 200),
    ],
)
def test_queue_is_for_agents_and_admins(api, customer, agent, support_admin, who, expected):
    queued_room(customer)
    if who:
        api.login(who)
    response = api.get("/api/chat/queue")
    assert response.status_code == expected
    if expected == 200:
        [row] = response.json()["results"]
        assert row["queue_position"] == 1
        assert row["estimated_wait_seconds"] is None


def test_agent_takes_a_queued_room_for_themselves(api, customer, agent, other_agent):
    room = queued_room(customer)
    online(agent)
    api.login("agent1")
    response = api.post(
        "/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(agent.pk)}
    )
    assert response.status_code == 200, response.content
    assert response.json()["agent"]["username"] == "agent1"
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
    again = api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})
    assert again.status_code == 409
    assert code(again) == "conflict"


def test_agent_cannot_assign_someone_else(api, customer, agent, other_agent):
    room = queued_room(customer)
    online(agent, other_agent)
    Room.objects.filter(pk=room.pk).update(status="queued", agent=None)
    api.login("agent1")
    response = api.post(
        "/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(other_agent.pk)}
    )
    assert response.status_code in (403, 409)


def test_route_now_without_agent_id(api, customer, agent, support_admin):
    room = queued_room(customer)
    api.login("admin")
    nobody = api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})
    assert nobody.status_code == 409
    assert code(nobody) == "agent_unavailable"
    User.objects.filter(pk=agent.pk).update(accepting_chats=False)
    online(agent)
    User.objects.filter(pk=agent.pk).update(accepting_chats=True)
    routed = api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})
    assert routed.status_code == 200
    assert routed.json()["agent"]["id"] == str(agent.pk)


def test_admin_forces_assignment_past_capacity(api, customer, make_user, support_admin):
    full = make_user(username="full", role="agent", max_chats=1, active_chats=1)
    room = queued_room(customer)
    api.login("admin")
    refused = api.post(
        "/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(full.pk)}
    )
    assert code(refused) == "agent_unavailable"
    forced = api.post(
        "/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(full.pk), "force": True}
    )
    assert forced.status_code == 200
    assert User.objects.get(pk=full.pk).active_chats == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"room_id": "nope"},
        {"room_id": ZERO_ID, "agent_id": 5},
        [],
    ],
)
def test_assign_bad_input(api, agent, body):
    api.login("agent1")
    response = api.post("/api/chat/assign-agent", body)
    assert response.status_code == 400
    assert code(response) == "validation_error"


def test_assign_unknown_room_is_404(api, agent):
    api.login("agent1")
    assert api.post("/api/chat/assign-agent", {"room_id": ZERO_ID}).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, 401),
        ("alice", 403),
        ("bob", 403),
        ("agent2", 404),
        ("agent1", 200),
    ],
)
def test_transfer_authorization(
    api, customer, other_customer, agent, other_agent, make_user, who, expected
):
    target = make_user(username="agent3", role="agent")
    online(agent)
    room = queued_room(customer)
    online(target)
    if who:
        api.login(who)
    response = api.post(
        "/api/chat/transfer", {"room_id": str(room.pk), "to_agent_id": str(target.pk), "note": "n"}
    )
    assert response.status_code == expected, response.content
    holder = Room.objects.get(pk=room.pk).agent_id
    assert holder == (target.pk if expected == 200 else agent.pk)


def test_transfer_of_a_queued_room_is_a_conflict(api, customer, other_agent, support_admin):
    room = queued_room(customer)
    online(other_agent)
    Room.objects.filter(pk=room.pk).update(status="queued", agent=None)
    api.login("admin")
    response = api.post(
        "/api/chat/transfer", {"room_id": str(room.pk), "to_agent_id": str(other_agent.pk)}
    )
    assert response.status_code == 409


def test_route_queue_and_reconcile_commands(customer, agent):
    room = queued_room(customer)
    online(agent)
    out = StringIO()
    call_command("route_queue", stdout=out)
    assert "assigned: 1" in out.getvalue()
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
    User.objects.filter(pk=agent.pk).update(active_chats=3)
    out = StringIO()
    call_command("reconcile_agents", stdout=out)
    assert "agent1: active_chats 3 -> 1" in out.getvalue()
    out = StringIO()
    call_command("reconcile_agents", stdout=out)
    assert "agents repaired: 0" in out.getvalue()


def test_assign_a_room_the_agent_may_not_see_is_404_not_its_status(
    api, customer, agent, other_agent, support_admin
):
    """Issue 18: an agent not assigned to a room learned its status from assign-agent
    (409 with details.status); every other path answers 404 for such a room."""
    room = queued_room(customer)
    Room.objects.filter(pk=room.pk).update(status="active", agent=other_agent)
    api.login("agent1")
    response = api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "No such room.",
        "details": {},
    }
    # The same room's assigned agent, and an admin, may see it: for them it is a conflict.
    api.login("agent2")
    assert code(api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})) == "conflict"
    api.login("admin")
    response = api.post("/api/chat/assign-agent", {"room_id": str(room.pk)})
    assert response.json()["error"]["details"] == {"status": "active"}
    # A closed room is no different for the agent who is not in it.
    Room.objects.filter(pk=room.pk).update(status="closed", agent=None)
    api.login("agent1")
    assert api.post("/api/chat/assign-agent", {"room_id": str(room.pk)}).status_code == 404


# --- POST /api/chat/remove-agent (issue 27) -----------------------------------------------


def test_remove_agent_is_for_admins(api, customer, agent, support_admin):
    online(agent)
    room = queued_room(customer)
    assert room.agent_id is None or Room.objects.get(pk=room.pk).agent_id == agent.pk
    body = {"room_id": str(room.pk)}
    assert api.post("/api/chat/remove-agent", body).status_code == 401
    api.force_login(customer)
    assert api.post("/api/chat/remove-agent", body).status_code == 403
    api.force_login(agent)
    answer = api.post("/api/chat/remove-agent", body)
    assert (answer.status_code, code(answer)) == (403, "permission_denied")
    api.force_login(support_admin)
    assert api.post("/api/chat/remove-agent", {"room_id": ZERO_ID}).status_code == 404
    assert api.post("/api/chat/remove-agent", {"room_id": "nope"}).status_code == 400
    answer = api.post("/api/chat/remove-agent", {**body, "reason": "Taking a break"})
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["from_agent"]["id"], data["text"]) == (
        str(agent.pk),
        "Back in the queue: Taking a break.",
    )
    # agent1 is the only agent and is skipped for this room: it waits
    assert (data["room"]["status"], data["room"]["agent"]) == ("queued", None)
    stored = Room.objects.get(pk=room.pk)
    assert stored.skip_agents == [str(agent.pk)]
    assert User.objects.get(pk=agent.pk).active_chats == 0
    again = api.post("/api/chat/remove-agent", body)
    assert (again.status_code, code(again)) == (409, "conflict")


def test_a_removed_agent_is_skipped_but_an_admin_may_assign_them(
    api, customer, agent, other_agent, support_admin
):
    online(agent)
    room = queued_room(customer)
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
    online(other_agent)
    api.force_login(support_admin)
    answer = api.post("/api/chat/remove-agent", {"room_id": str(room.pk)})
    assert answer.json()["room"]["agent"]["id"] == str(other_agent.pk)  # routed at once
    api.post("/api/chat/remove-agent", {"room_id": str(room.pk)})
    assert Room.objects.get(pk=room.pk).status == "queued"  # both skipped now
    assigned = api.post(
        "/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(agent.pk)}
    )
    assert assigned.status_code == 200, assigned.content
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
