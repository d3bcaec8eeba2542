"""Every admin page renders on the embedded MongoDB-protocol server: each registered
model's list and change page for a support manager, the login redirect for anyone
else, and the dashboard."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts import presence
from accounts.models import ClearedEmail
from agents import services as routing
from agents.hours import parse_week
from agents.models import AgentSkill, OfflineMessage, RoutingAudit, Skill, Topic
from agents.services import canned_create
from chat import services as chat_services
from chat.models import Attachment, Room, RoomEvent
from integrations.models import WebhookSentRow
from integrations.services import endpoint_create, endpoint_send_test

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


@pytest.fixture
def world(customer, other_customer, agent, support_admin):
    """One routed room with an edited and a deleted message, an attachment, a queued
    room, a routing audit row, a log entry, a group and a webhook endpoint with a delivery:
    a row for every admin page."""
    presence.lease_touch(user_id=str(agent.pk), conn_id="c", ttl_seconds=300)
    dto, _ = chat_services.room_create(customer=customer, subject="printer", message="help")
    room = Room.objects.get(pk=dto["id"])
    assert room.agent_id == agent.pk

    def send(text):
        return chat_services.message_send(
            room_id=str(room.pk), sender=agent, client_msg_id=uuid.uuid4().hex, text=text
        )["id"]

    edited, deleted = send("first words"), send("regrettable")
    chat_services.message_edit(
        room_id=str(room.pk), message_id=edited, actor=agent, text="better words"
    )
    chat_services.message_delete(room_id=str(room.pk), message_id=deleted, actor=agent)
    Attachment.objects.create(
        room=room,
        uploader=customer,
        storage_name="x/y.png",
        filename="screen.png",
        content_type="image/png",
        size=10,
    )
    User = type(agent)
    User.objects.filter(pk=agent.pk).update(accepting_chats=False)
    chat_services.room_create(customer=other_customer, subject="waiting")
    LogEntry.objects.create(
        user=support_admin,
        content_type=ContentType.objects.get_for_model(Room),
        object_id=str(room.pk),
        object_repr=str(room),
        action_flag=CHANGE,
        change_message="test",
    )
    Group.objects.create(name="supervisors")
    ClearedEmail.objects.create(
        user=other_customer, email="shared@example.com", kept_by=customer, cleared_at=timezone.now()
    )
    canned_create(user=support_admin, shortcut="hello", text="Hi {customer_name}!", shared=True)
    team, _ = routing.team_create(
        name="Billing",
        members=[agent.username],
        time_zone="Europe/Paris",
        hours=parse_week("mon-fri 09:00-17:00"),
    )
    french = Skill.objects.create(name="french", label="French")
    AgentSkill.objects.create(agent=agent, skill=french, level=3)
    Topic.objects.create(key="billing", label="Billing", team=team, skills="french:2")
    OfflineMessage.objects.create(
        room_id=room.pk, team=team, customer=customer, email="a@example.com", message="call me"
    )
    hook = endpoint_create(
        actor=support_admin, url="https://hooks.example.com/in", kinds=["room.created"]
    )
    endpoint_send_test(actor=support_admin, endpoint_id=hook["id"])  # a delivery
    WebhookSentRow.objects.create(  # a row delivered at the first attempt
        room_id=room.pk,
        seq=1,
        kind="message.created",
        bodies={"customer": {"kind": "message.created", "seq": 1, "data": {}}},
        sent={
            hook["id"]: {
                "delivery_id": str(uuid.uuid4()),
                "scope": "customer",
                "status_code": 200,
                "at": "2026-12-07T19:00:00Z",
            }
        },
    )
    assert RoutingAudit.objects.exists()
    return room


def admin_url(model, suffix: str) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


def test_the_registry_is_what_the_pages_cover():
    labels = {m._meta.label for m in MODELS}
    assert labels == {
        "accounts.ClearedEmail",
        "accounts.User",
        "agents.Agent",
        "agents.CannedResponse",
        "admin.LogEntry",
        "agents.RoutingAudit",
        "agents.OfflineMessage",
        "agents.Skill",
        "agents.Team",
        "agents.Topic",
        "auth.Group",
        "chat.Attachment",
        "chat.Room",
        "chat.RoomEvent",
        "integrations.WebhookDelivery",
        "integrations.WebhookEndpoint",
        "integrations.WebhookSentRow",
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_list_and_change_pages_render_for_a_manager(staff_client, world, model):
    listing = staff_client.get(admin_url(model, ""))
    assert listing.status_code == 200, listing.content[:2000]
    obj = model._default_manager.order_by("-pk").first()
    assert obj is not None
    change = staff_client.get(admin_url(model, f"{obj.pk}/change/"))
    assert change.status_code == 200, change.content[:2000]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_other_people_are_sent_to_the_login(client, customer, agent, model):
    for user in (customer, agent):
        client.force_login(user)
        response = client.get(admin_url(model, ""))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_list_pages_show_names_not_ids(staff_client, world):
    rooms = staff_client.get("/admin/chat/room/").content.decode()
    assert "alice" in rooms
    assert "agent1" in rooms
    assert "(waiting)" in rooms  # bob's queued room
    audit = staff_client.get("/admin/agents/routingaudit/").content.decode()
    assert "agent1" in audit


def test_messages_show_edits_and_deleted_text(staff_client, world):
    page = staff_client.get(f"/admin/chat/roomevent/?room={world.pk}").content.decode()
    assert "better words" in page
    assert "first words" in page  # the original of the edited message
    assert "regrettable" in page  # the deleted message's text, for admins
    other = staff_client.get("/admin/chat/roomevent/?room=not-an-id")
    assert other.status_code == 200


def test_message_change_page_shows_the_original(staff_client, world):
    message = RoomEvent.objects.filter(original_text="first words").first()
    page = staff_client.get(f"/admin/chat/roomevent/{message.pk}/change/").content.decode()
    assert "better words" in page
    assert "first words" in page


def test_dashboard_renders_for_a_manager(staff_client, world):
    index = staff_client.get("/admin/").content.decode()
    assert "/admin/dashboard/" in index
    page = staff_client.get("/admin/dashboard/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('class="stats-chart"') == 2
    assert 'id="queue-length">1<' in body
    assert "agent1" in body


def test_dashboard_is_staff_only(client, customer):
    assert client.get("/admin/dashboard/").status_code == 302
    client.force_login(customer)
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
