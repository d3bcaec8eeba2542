"""Canned responses (issue 16): shared ones managed by admins, personal ones each agent's
own; placeholders; search; REST with the usual authorisation; the admin's page."""

from __future__ import annotations

import pytest

from agents import selectors, services
from agents.models import CannedResponse
from chat.tests.factories import room_with_agent
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)

WHO = ["alice", "agent1", "agent2", "admin", None]


@pytest.fixture
def canned(agent, support_admin):
    hello = "Hi {customer_name}, {agent_name} here."
    shared = services.canned_create(user=support_admin, shortcut="/Hello", text=hello, shared=True)
    own = services.canned_create(user=agent, shortcut="refund", text="Refunds take 5 days.")
    return {"shared": shared["id"], "own": own["id"]}


def test_an_agent_sees_the_shared_ones_and_their_own(canned, agent, other_agent, support_admin):
    mine = selectors.canned_list(viewer=agent)
    assert [(c["shortcut"], c["shared"]) for c in mine] == [("hello", True), ("refund", False)]
    assert [c["shortcut"] for c in selectors.canned_list(viewer=other_agent)] == ["hello"]
    assert [c["shortcut"] for c in selectors.canned_list(viewer=support_admin)] == ["hello"]


def test_placeholders_are_filled_for_a_room(canned, customer, agent):
    customer.display_name = "Alice Liddell"
    customer.save(update_fields=["display_name"])
    agent.display_name = "Ann"
    agent.save(update_fields=["display_name"])
    room = room_with_agent(customer, agent)
    found = selectors.canned_list(viewer=agent, room_id=str(room.pk), q="HELLO")
    assert [c["rendered"] for c in found] == ["Hi Alice Liddell, Ann here."]
    assert (
        selectors.canned_render(
            "{customer_name} {unknown} {agent_name.__class__}", customer_name="A", agent_name="B"
        )
        == "A {unknown} {agent_name.__class__}"
    )


def test_search_by_shortcut_or_text(canned, agent):
    assert [c["shortcut"] for c in selectors.canned_list(viewer=agent, q="ref")] == ["refund"]
    assert [c["shortcut"] for c in selectors.canned_list(viewer=agent, q="5 DAYS")] == ["refund"]
    assert selectors.canned_list(viewer=agent, q="nothing like it") == []


def test_who_changes_what(canned, agent, other_agent, support_admin, customer):
    with pytest.raises(PermissionDenied):
        services.canned_create(user=agent, shortcut="x", text="y", shared=True)
    with pytest.raises(PermissionDenied):
        services.canned_create(user=customer, shortcut="x", text="y")
    with pytest.raises(PermissionDenied):
        services.canned_update(canned_id=canned["shared"], user=agent, text="mine now")
    for user in (other_agent, support_admin):
        with pytest.raises(NotFound):
            services.canned_update(canned_id=canned["own"], user=user, text="not yours")
    updated = services.canned_update(canned_id=canned["own"], user=agent, shortcut="Refunds")
    assert updated["shortcut"] == "refunds"
    services.canned_delete(canned_id=canned["shared"], user=support_admin)
    assert [c["shortcut"] for c in selectors.canned_list(viewer=agent)] == ["refunds"]


def test_shortcuts_are_unique_per_scope(canned, agent, other_agent, support_admin):
    with pytest.raises(Conflict):
        services.canned_create(user=agent, shortcut="REFUND", text="again")
    services.canned_create(user=other_agent, shortcut="refund", text="theirs")
    services.canned_create(user=agent, shortcut="hello", text="shadows the shared one")
    with pytest.raises(Conflict):
        services.canned_create(user=support_admin, shortcut="hello", text="x", shared=True)
    for bad in ("", "/", "a b", "-x", "x" * 33):
        with pytest.raises(ValidationFailed):
            services.canned_create(user=agent, shortcut=bad, text="y")
    with pytest.raises(ValidationFailed):
        services.canned_create(user=agent, shortcut="blank", text="  ")


ENDPOINTS = {
    # name: (method, path template, body, [alice, agent1, agent2, admin, anonymous])
    "list": ("get", "/api/chat/canned-responses", None, [403, 200, 200, 200, 401]),
    "create": (
        "post",
        "/api/chat/canned-responses",
        {"shortcut": "bye", "text": "Bye!"},
        [403, 201, 201, 201, 401],
    ),
    "create-shared": (
        "post",
        "/api/chat/canned-responses",
        {"shortcut": "team", "text": "Our team", "shared": True},
        [403, 403, 403, 201, 401],
    ),
    "update-own": (
        "patch",
        "/api/chat/canned-responses/{own}",
        {"text": "Refunds take a week."},
        [403, 200, 404, 404, 401],
    ),
    "update-shared": (
        "patch",
        "/api/chat/canned-responses/{shared}",
        {"text": "Hello!"},
        [403, 403, 403, 200, 401],
    ),
    "delete-own": ("delete", "/api/chat/canned-responses/{own}", None, [403, 204, 404, 404, 401]),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_authorization_matrix(
    api_factory, canned, endpoint, customer, agent, other_agent, support_admin
):
    users = [customer, agent, other_agent, support_admin, None]
    method, template, body, expected = ENDPOINTS[endpoint]
    for user, status in zip(users, expected, strict=True):
        api = api_factory()
        if user is not None:
            api.force_login(user)
        path = template.format(**canned)
        response = api.get(path) if method == "get" else getattr(api, method)(path, body)
        assert response.status_code == status, (user, response.content)


def test_rest_list_renders_for_a_room_and_refuses_a_foreign_one(
    api, canned, customer, agent, other_agent
):
    room = room_with_agent(customer, agent)
    api.force_login(agent)
    listed = api.get(f"/api/chat/canned-responses?room_id={room.pk}&q=hello").json()
    assert listed["results"][0]["rendered"] == f"Hi {customer.name}, {agent.name} here."
    api.force_login(other_agent)
    assert api.get(f"/api/chat/canned-responses?room_id={room.pk}").status_code == 404
    dup = api.post("/api/chat/canned-responses", {"shortcut": "x", "text": "a"})
    assert dup.status_code == 201
    again = api.post("/api/chat/canned-responses", {"shortcut": "X", "text": "b"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")


def test_the_admin_manages_shared_responses(client, canned, support_admin, agent):
    client.force_login(support_admin)
    page = client.get("/admin/agents/cannedresponse/").content.decode()
    assert "/hello" in page
    assert "/refund" in page
    added = client.post(
        "/admin/agents/cannedresponse/add/", {"shortcut": "/Thanks", "text": "Thank you!"}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    stored = CannedResponse.objects.get(shortcut="thanks")
    assert (stored.shared, stored.created_by_id) == (True, support_admin.pk)
    duplicate = client.post(
        "/admin/agents/cannedresponse/add/", {"shortcut": "hello", "text": "again"}
    )
    assert duplicate.status_code == 200
    assert "exists already" in duplicate.content.decode()
    own = f"/admin/agents/cannedresponse/{canned['own']}/change/"
    assert client.post(own, {"shortcut": "hijack", "text": "x"}).status_code == 403
    assert CannedResponse.objects.get(pk=canned["own"]).shortcut == "refund"
