"""The REST side of teams (issue 15): teams and topics, a room's skills, the message a
customer leaves while closed, transfer to a team, one team's queue; with the 401, 403
and 404 of each; and the commands create_team and route_queue --team."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from agents import services
from agents.hours import parse_week
from agents.models import OfflineMessage, Skill, Team, TeamHours, Topic
from agents.tests.test_api import ZERO_ID, code, online, queued_room
from chat.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teams(agent):
    billing, _ = services.team_create(name="Billing", members=[agent.username])
    internal, _ = services.team_create(
        name="Escalations", listed=False, time_zone="UTC", hours=parse_week("mon 00:00-00:01")
    )
    Topic.objects.create(key="billing", label="Billing", team=billing)
    Skill.objects.create(name="french")
    return billing, internal


def test_teams_and_topics_need_a_session(api, teams):
    assert api.get("/api/chat/teams").status_code == 401
    assert api.get("/api/chat/topics").status_code == 401


def test_customers_see_listed_teams_agents_see_every_team_with_members(api, customer, agent, teams):
    api.login("alice")
    shown = api.get("/api/chat/teams").json()["results"]
    assert [t["name"] for t in shown] == ["Billing"]
    assert "members" not in shown[0]
    assert shown[0]["open"] is True
    topics = api.get("/api/chat/topics").json()["results"]
    assert topics == [
        {
            "key": "billing",
            "label": "Billing",
            "team": {"id": str(teams[0].pk), "name": "Billing", "open": True},
            "required_skills": [],
        }
    ]
    api.login("agent1")
    shown = {t["name"]: t for t in api.get("/api/chat/teams").json()["results"]}
    assert [m["username"] for m in shown["Billing"]["members"]] == ["agent1"]
    assert shown["Escalations"]["listed"] is False
    assert shown["Escalations"]["always_open"] is False


def test_create_with_a_team_or_topic(api, customer, teams):
    api.login("alice")
    unknown = api.post("/api/chat/rooms", {"team_id": ZERO_ID})
    assert (unknown.status_code, code(unknown)) == (400, "validation_error")
    unlisted = api.post("/api/chat/rooms", {"team_id": str(teams[1].pk)})
    assert unlisted.status_code == 400
    both = api.post("/api/chat/rooms", {"team_id": str(teams[0].pk), "topic": "billing"})
    assert both.status_code == 400
    room = api.post("/api/chat/rooms", {"topic": "billing", "message": "hi"})
    assert room.status_code == 201, room.content
    body = room.json()
    assert body["team_id"] == str(teams[0].pk)
    assert (body["team"], body["offline"]) == ({"id": str(teams[0].pk), "name": "Billing"}, False)
    detail = api.get(f"/api/chat/rooms/{body['id']}").json()
    assert (detail["team"]["name"], detail["queue_position"]) == ("Billing", 1)


def test_setting_a_rooms_skills(api, customer, other_customer, agent, support_admin, teams):
    room = queued_room(customer)
    path = f"/api/chat/rooms/{room.pk}/skills"
    body = {"required_skills": [{"name": "french", "min_level": 2}]}
    assert api.put(path, body).status_code == 401
    api.login("alice")
    assert api.put(path, body).status_code == 403
    api.login("agent1")
    assert api.put(f"/api/chat/rooms/{ZERO_ID}/skills", body).status_code == 404
    unknown = api.put(path, {"required_skills": [{"name": "klingon"}]})
    assert (unknown.status_code, code(unknown)) == (400, "validation_error")
    answer = api.put(path, body)
    assert answer.status_code == 200, answer.content
    assert answer.json()["required_skills"] == [{"name": "french", "min_level": 2}]
    assert Room.objects.get(pk=room.pk).required_skills == [{"name": "french", "min_level": 2}]
    # another customer's active room with another agent is not the agent's to see
    other = queued_room(other_customer)
    Room.objects.filter(pk=other.pk).update(status="active", agent=support_admin)
    assert api.put(f"/api/chat/rooms/{other.pk}/skills", body).status_code == 404


def test_leaving_a_message_while_waiting(api, customer, other_customer, agent, teams):
    room = queued_room(customer)
    path = f"/api/chat/rooms/{room.pk}/offline-message"
    body = {"email": "alice@example.com", "message": "Call me"}
    assert api.post(path, body).status_code == 401
    api.login("bob")
    assert api.post(path, body).status_code == 404
    api.login("alice")
    bad = api.post(path, {**body, "email": "not an address"})
    assert (bad.status_code, code(bad)) == (400, "validation_error")
    first = api.post(path, body)
    assert first.status_code == 201, first.content
    assert first.json()["email"] == "alice@example.com"
    assert api.post(path, body).json()["id"] == first.json()["id"]  # the same again
    other = api.post(path, {**body, "message": "Something else"})
    assert (other.status_code, code(other)) == (409, "conflict")
    assert OfflineMessage.objects.count() == 1
    # agents and admins read them; customers may not
    assert api.get("/api/chat/offline-messages").status_code == 403
    api.login("agent1")
    listed = api.get("/api/chat/offline-messages").json()["results"]
    assert [(m["email"], m["message"]) for m in listed] == [("alice@example.com", "Call me")]
    assert api.get(f"/api/chat/offline-messages?team_id={ZERO_ID}").status_code == 404


def test_a_room_no_longer_waiting_takes_no_message(api, customer, agent):
    online(agent)
    room = queued_room(customer)
    assert room.status == "active"
    api.login("alice")
    answer = api.post(
        f"/api/chat/rooms/{room.pk}/offline-message", {"email": "a@example.com", "message": "x"}
    )
    assert (answer.status_code, code(answer)) == (409, "conflict")


def test_transfer_to_a_team_over_rest(api, customer, agent, other_agent, teams):
    online(other_agent)
    room = queued_room(customer)
    assert room.agent_id == other_agent.pk
    api.login("agent2")
    both = api.post(
        "/api/chat/transfer",
        {"room_id": str(room.pk), "to_agent_id": str(agent.pk), "to_team_id": str(teams[0].pk)},
    )
    assert both.status_code == 400
    unknown = api.post("/api/chat/transfer", {"room_id": str(room.pk), "to_team_id": ZERO_ID})
    assert unknown.status_code == 404
    online(agent)
    moved = api.post(
        "/api/chat/transfer", {"room_id": str(room.pk), "to_team_id": str(teams[0].pk)}
    )
    assert moved.status_code == 200, moved.content
    assert (moved.json()["to_agent"]["username"], moved.json()["queued"]) == ("agent1", False)
    assert Room.objects.get(pk=room.pk).team_id == teams[0].pk
    api.login("alice")
    denied = api.post(
        "/api/chat/transfer", {"room_id": str(room.pk), "to_team_id": str(teams[0].pk)}
    )
    assert denied.status_code == 403


def test_one_teams_queue_and_taking_another_teams_room(api, make_user, agent, teams):
    lone = make_user(username="lone", role="agent")
    billing = teams[0]
    User.objects.filter(pk=agent.pk).update(accepting_chats=False)
    room = queued_room(make_user(username="carl"))
    Room.objects.filter(pk=room.pk).update(team_id=billing.pk)
    general = queued_room(make_user(username="dora"))
    api.login("agent1")
    rows = api.get(f"/api/chat/queue?team_id={billing.pk}").json()["results"]
    assert [(r["id"], r["team"]["name"], r["queue_position"]) for r in rows] == [
        (str(room.pk), "Billing", 1)
    ]
    assert api.get(f"/api/chat/queue?team_id={ZERO_ID}").status_code == 404
    everything = api.get("/api/chat/queue").json()["results"]
    assert [(r["id"], r["queue_position"]) for r in everything] == [
        (str(room.pk), 1),
        (str(general.pk), 1),
    ]
    online(lone)
    User.objects.filter(pk=lone.pk).update(accepting_chats=False)
    api.login("lone")
    taken = api.post("/api/chat/assign-agent", {"room_id": str(room.pk), "agent_id": str(lone.pk)})
    assert (taken.status_code, code(taken)) == (403, "permission_denied")


def test_create_team_and_route_queue_commands(make_user, customer):
    make_user(username="ann", role="agent")
    out = StringIO()
    call_command(
        "create_team",
        "Support",
        "--members",
        "ann",
        "--time-zone",
        "Europe/Paris",
        "--hours",
        "mon-fri 09:00-17:00",
        "--holidays",
        "2026-12-25",
        stdout=out,
    )
    assert "created team Support" in out.getvalue()
    team = Team.objects.get(name="Support")
    assert (team.time_zone, TeamHours.objects.filter(team=team).count()) == ("Europe/Paris", 5)
    call_command("create_team", "Night", stdout=StringIO())
    call_command(
        "create_team", "Support", "--overflow-after", "120", "--fallback", "Night", stdout=out
    )
    assert "updated team Support" in out.getvalue()
    assert Team.objects.get(name="Support").fallback.name == "Night"
    with pytest.raises(CommandError, match="No agent"):
        call_command("create_team", "Other", "--members", "nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="circle"):
        call_command(
            "create_team",
            "Night",
            "--overflow-after",
            "60",
            "--fallback",
            "Support",
            stdout=StringIO(),
        )
    with pytest.raises(CommandError):
        call_command("create_team", "Bad", "--time-zone", "Mars/Olympus", stdout=StringIO())
    assert not Team.objects.filter(name="Bad").exists()

    queued_room(customer)
    routed = StringIO()
    call_command("route_queue", "--team", "Support", stdout=routed)
    assert routed.getvalue().strip() == "queued before: 0; assigned: 0; still queued: 0"
    call_command("route_queue", "--team", "general", stdout=routed)
    assert "queued before: 1; assigned: 0; still queued: 1" in routed.getvalue()
    with pytest.raises(CommandError, match="No team"):
        call_command("route_queue", "--team", "Nope", stdout=StringIO())
