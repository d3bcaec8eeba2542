"""The agents page of the Django admin (capacity, switch, presence, load) and the
read-only routing audit log."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from accounts import presence
from accounts.models import User
from agents.models import RoutingAction, RoutingAudit
from chat import services as chat_services
from chat.models import Room, RoomStatus

pytestmark = pytest.mark.django_db(transaction=True)

AGENTS = "/admin/agents/agent/"


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def online(*users):
    for user in users:
        presence.lease_touch(user_id=str(user.pk), conn_id="c", ttl_seconds=300)


def open_room(customer) -> Room:
    dto, _ = chat_services.room_create(customer=customer, subject="help")
    return Room.objects.get(pk=dto["id"])


def change_form(agent, **changes) -> dict:
    data = {
        "display_name": agent.display_name,
        "is_active": "on",
        "status": agent.status,
        "accepting_chats": "on" if agent.accepting_chats else "",
        "max_chats": str(agent.max_chats),
        "_save": "Save",
    }
    for prefix in ("team_memberships", "skills"):  # the page's inlines (issue 15): none
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_list_shows_agents_with_presence_and_load(staff_client, customer, agent, other_agent):
    online(agent)
    open_room(customer)
    page = staff_client.get(AGENTS).content.decode()
    assert "agent1" in page
    assert "agent2" in page
    assert "alice" not in page
    assert "1 / 5" in page  # agent1's load
    assert page.count('alt="True"') == 1  # agent1 online; agent2 not


def test_raising_max_chats_in_the_list_drains_the_queue(
    staff_client, customer, other_customer, agent
):
    online(agent)
    User.objects.filter(pk=agent.pk).update(max_chats=1)
    first = open_room(customer)
    waiting = open_room(other_customer)
    assert Room.objects.get(pk=first.pk).agent_id == agent.pk
    assert Room.objects.get(pk=waiting.pk).status == RoomStatus.QUEUED

    response = staff_client.post(
        f"{AGENTS}?q=agent1",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(agent.pk),
            "form-0-accepting_chats": "on",
            "form-0-max_chats": "2",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    assert User.objects.get(pk=agent.pk).max_chats == 2
    assert Room.objects.get(pk=waiting.pk).agent_id == agent.pk  # drained at once
    assert User.objects.get(pk=agent.pk).active_chats == 2
    entry = LogEntry.objects.get(object_id=str(agent.pk))
    assert "Max chats" in entry.get_change_message()


def test_switching_accepting_on_goes_through_the_status_service(
    staff_client, customer, agent, monkeypatch
):
    online(agent)
    User.objects.filter(pk=agent.pk).update(accepting_chats=False)
    room = open_room(customer)
    assert Room.objects.get(pk=room.pk).status == RoomStatus.QUEUED
    announced = []
    monkeypatch.setattr(
        "accounts.events.user_status_changed",
        lambda *, user, online: announced.append((user.pk, user.accepting_chats)),
    )
    agent.refresh_from_db()

    response = staff_client.post(
        f"{AGENTS}{agent.pk}/change/", change_form(agent, accepting_chats="on")
    )

    assert response.status_code == 302, response.content[:3000]
    assert announced == [(agent.pk, True)]
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
    assert LogEntry.objects.filter(object_id=str(agent.pk)).exists()


def test_saving_an_agent_never_writes_back_a_stale_load(staff_client, agent):
    """Regression: a full-model save() from the admin form restored the active_chats
    it had read, undoing a reservation routing made meanwhile."""
    agent.refresh_from_db()
    form = change_form(agent, display_name="Ada L.", max_chats="7")
    User.objects.filter(pk=agent.pk).update(active_chats=3)  # routing, meanwhile

    staff_client.post(f"{AGENTS}{agent.pk}/change/", form)

    saved = User.objects.get(pk=agent.pk)
    assert (saved.display_name, saved.max_chats, saved.active_chats) == ("Ada L.", 7, 3)


def test_recount_action_repairs_drifted_loads(staff_client, customer, agent):
    online(agent)
    open_room(customer)
    User.objects.filter(pk=agent.pk).update(active_chats=4)

    response = staff_client.post(
        AGENTS,
        {"action": "recount_loads", "_selected_action": [str(agent.pk)], "index": 0},
        follow=True,
    )

    body = response.content.decode()
    assert "gent1: active_chats 4 -&gt; 1" in body  # the admin capitalises messages
    assert User.objects.get(pk=agent.pk).active_chats == 1
    assert RoutingAudit.objects.filter(action=RoutingAction.RECONCILED, to_agent=agent).exists()


def test_agents_cannot_be_added_or_deleted_here(staff_client, agent):
    assert staff_client.get(f"{AGENTS}add/").status_code == 403
    assert staff_client.get(f"{AGENTS}{agent.pk}/delete/").status_code == 403


def test_routing_audit_is_read_only(staff_client, customer, agent):
    online(agent)
    room = open_room(customer)
    audit = RoutingAudit.objects.get(room_id=room.pk)
    page = staff_client.get(f"/admin/agents/routingaudit/{audit.pk}/change/").content.decode()
    assert "agent1" in page
    assert 'name="_save"' not in page
    response = staff_client.post(f"/admin/agents/routingaudit/{audit.pk}/change/", {"note": "x"})
    assert response.status_code == 403
    assert staff_client.get(f"/admin/agents/routingaudit/{audit.pk}/delete/").status_code == 403
