"""The room actions of the Django admin: each goes through the chat and routing services
and leaves its audit rows (the admin's LogEntry; RoutingAudit for routing changes; the
room's own timeline event)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from accounts import presence
from accounts.models import User
from agents.models import RoutingAction, RoutingAudit
from chat import services as chat_services
from chat.models import EventKind, Room, RoomEvent, RoomStatus

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/chat/room/"


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def online(*users):
    for user in users:
        presence.lease_touch(user_id=str(user.pk), conn_id="c", ttl_seconds=300)


def offline(*users):
    for user in users:
        presence.lease_release(user_id=str(user.pk), conn_id="c", grace_seconds=0)
        presence.expire_stale()


def open_room(customer) -> Room:
    dto, _ = chat_services.room_create(customer=customer, subject="help")
    return Room.objects.get(pk=dto["id"])


def act(client, action: str, *rooms: Room, **extra):
    data = {"action": action, "_selected_action": [str(r.pk) for r in rooms], **extra}
    if "apply" not in extra:
        data["index"] = 0
    return client.post(CHANGELIST, data, follow=True)


def logged(room: Room) -> list[str]:
    return [e.change_message for e in LogEntry.objects.filter(object_id=str(room.pk))]


def test_close_goes_through_the_service_and_is_logged(staff_client, customer, agent):
    online(agent)
    room = open_room(customer)
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk

    response = act(staff_client, "close_rooms", room)

    assert response.status_code == 200
    closed = Room.objects.get(pk=room.pk)
    assert closed.status == RoomStatus.CLOSED
    event = RoomEvent.objects.filter(room_id=room.pk, kind=EventKind.CLOSED).first()
    assert event.actor_id == User.objects.get(username="admin").pk
    assert User.objects.get(pk=agent.pk).active_chats == 0  # the slot is free again
    assert logged(room) == ["Closed the room."]
    act(staff_client, "close_rooms", room)  # closing again changes and logs nothing
    assert logged(room) == ["Closed the room."]


def test_route_now_without_an_eligible_agent_reports_and_changes_nothing(
    staff_client, customer, agent
):
    room = open_room(customer)

    response = act(staff_client, "route_rooms", room)

    assert "No agent is available" in response.content.decode()
    assert Room.objects.get(pk=room.pk).status == RoomStatus.QUEUED
    assert logged(room) == []


def test_route_now_with_an_agent_online(staff_client, customer, agent, support_admin):
    room = open_room(customer)
    online(agent)  # came online without the drain noticing (no socket hook here)

    act(staff_client, "route_rooms", room)

    routed = Room.objects.get(pk=room.pk)
    assert routed.agent_id == agent.pk
    audit = RoutingAudit.objects.get(room_id=room.pk)
    assert (audit.action, audit.actor_id, audit.reason) == (
        RoutingAction.ASSIGNED,
        support_admin.pk,
        "manual route",
    )
    assert logged(room) == ["Routed to agent1."]


def test_requeue_puts_the_room_back_and_audits(staff_client, customer, agent, support_admin):
    online(agent)
    room = open_room(customer)
    offline(agent)  # so the requeued room is not routed straight back

    act(staff_client, "requeue_rooms", room)

    back = Room.objects.get(pk=room.pk)
    assert (back.status, back.agent_id) == (RoomStatus.QUEUED, None)
    assert User.objects.get(pk=agent.pk).active_chats == 0
    audit = RoutingAudit.objects.get(room_id=room.pk, action=RoutingAction.REQUEUED)
    assert audit.actor_id == support_admin.pk
    assert audit.from_agent_id == agent.pk
    assert logged(room) == ["Put back in the queue."]


def test_requeue_of_a_queued_room_is_refused(staff_client, customer):
    room = open_room(customer)
    response = act(staff_client, "requeue_rooms", room)
    assert "Only an active room" in response.content.decode()
    assert logged(room) == []


def test_transfer_asks_for_the_agent_first(staff_client, customer, agent, other_agent):
    online(agent)
    room = open_room(customer)

    page = act(staff_client, "transfer_rooms", room)

    body = page.content.decode()
    assert "Transfer or assign rooms to an agent" in body
    assert '<input type="hidden" name="action" value="transfer_rooms">' in body
    assert 'value="Transfer / assign"' in body
    assert "agent2" in body
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk


def test_transfer_moves_an_active_room_forced_past_availability(
    staff_client, customer, agent, other_agent, support_admin
):
    online(agent)
    room = open_room(customer)  # agent2 is offline: only a forced transfer reaches them

    act(
        staff_client,
        "transfer_rooms",
        room,
        apply="1",
        to_agent=str(other_agent.pk),
        force="on",
        note="night shift",
    )

    moved = Room.objects.get(pk=room.pk)
    assert moved.agent_id == other_agent.pk
    audit = RoutingAudit.objects.get(room_id=room.pk, action=RoutingAction.FORCED)
    assert (audit.actor_id, audit.from_agent_id, audit.to_agent_id, audit.note) == (
        support_admin.pk,
        agent.pk,
        other_agent.pk,
        "night shift",
    )
    assert logged(room) == ["Transferred to agent2 (forced)."]
    assert User.objects.get(pk=other_agent.pk).active_chats == 1
    assert User.objects.get(pk=agent.pk).active_chats == 0


def test_transfer_without_force_to_an_offline_agent_is_refused(
    staff_client, customer, agent, other_agent
):
    online(agent)
    room = open_room(customer)

    response = act(staff_client, "transfer_rooms", room, apply="1", to_agent=str(other_agent.pk))

    assert response.status_code == 200
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk
    assert logged(room) == []
    assert not RoutingAudit.objects.filter(action=RoutingAction.TRANSFERRED).exists()


def test_transfer_of_a_queued_room_assigns_it(staff_client, customer, agent, support_admin):
    room = open_room(customer)

    act(staff_client, "transfer_rooms", room, apply="1", to_agent=str(agent.pk), force="on")

    assigned = Room.objects.get(pk=room.pk)
    assert (assigned.status, assigned.agent_id) == (RoomStatus.ACTIVE, agent.pk)
    audit = RoutingAudit.objects.get(room_id=room.pk)
    assert (audit.action, audit.actor_id) == (RoutingAction.FORCED, support_admin.pk)
    assert logged(room) == ["Assigned to agent1 (forced)."]


def test_actions_are_for_managers_only(client, customer, agent):
    online(agent)
    room = open_room(customer)
    client.force_login(agent)
    response = client.post(
        CHANGELIST, {"action": "close_rooms", "_selected_action": [str(room.pk)], "index": 0}
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert Room.objects.get(pk=room.pk).status == RoomStatus.ACTIVE


def test_room_pages_are_read_only(staff_client, customer):
    room = open_room(customer)
    page = staff_client.get(f"/admin/chat/room/{room.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert "(waiting)" in page
    response = staff_client.post(f"/admin/chat/room/{room.pk}/change/", {"subject": "x"})
    assert response.status_code == 403
    assert Room.objects.get(pk=room.pk).subject == "help"


def test_room_list_names_customer_and_agent_from_one_page_lookup(staff_client, customer, agent):
    online(agent)
    open_room(customer)
    page = staff_client.get(CHANGELIST).content.decode()
    assert f"{customer.display_name} (alice)" in page
    assert f"{agent.display_name} (agent1)" in page
