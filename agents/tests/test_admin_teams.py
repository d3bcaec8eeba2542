"""Teams in the Django admin (issue 15): a team with its members and hours made in one
form, the checks of its overflow, an agent's skills on the agent's page, and the rooms
page's team actions, each through routing's services."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from agents import services
from agents.directory import directory
from agents.models import AgentSkill, RoutingAudit, Skill, Team, TeamHours
from agents.tests.test_admin import AGENTS, change_form, online, open_room
from chat.models import Room

pytestmark = pytest.mark.django_db(transaction=True)

TEAMS = "/admin/agents/team/"
ROOMS = "/admin/chat/room/"


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def inline(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{k}": v for k, v in row.items()})
    return data


def team_form(**fields) -> dict:
    data = {
        "name": "Billing",
        "description": "",
        "listed": "on",
        "time_zone": "Europe/Paris",
        "offline_message": "Back at nine.",
        "_save": "Save",
        **inline("members", []),
        **inline("hours", []),
        **inline("holidays", []),
    }
    data.update(fields)
    return data


def test_a_team_with_members_and_hours_in_one_form(staff_client, agent):
    form = team_form(
        **inline("members", [{"agent": str(agent.pk)}]),
        **inline("hours", [{"weekday": "0", "opens": "09:00", "closes": "17:00"}]),
    )
    response = staff_client.post(f"{TEAMS}add/", form)
    assert response.status_code == 302, response.content[:3000]
    team = Team.objects.get(name="Billing")
    assert TeamHours.objects.filter(team=team).count() == 1
    assert directory().teams_of[agent.pk] == frozenset({team.pk})
    listing = staff_client.get(TEAMS).content.decode()
    assert "Billing" in listing


def test_overflow_needs_a_fallback_and_may_not_loop(staff_client):
    alone = staff_client.post(f"{TEAMS}add/", team_form(overflow_after_seconds="60"))
    assert alone.status_code == 200  # the form again, with the error
    assert "Give both an overflow time and a fallback team" in alone.content.decode()
    first, _ = services.team_create(name="First")
    second, _ = services.team_create(name="Second", overflow_after_seconds=60, fallback="First")
    loop = staff_client.post(
        f"{TEAMS}{first.pk}/change/",
        team_form(name="First", overflow_after_seconds="60", fallback=str(second.pk)),
    )
    assert "go round in a circle" in loop.content.decode()
    assert Team.objects.get(pk=first.pk).fallback_id is None


def test_an_agents_skills_on_the_agents_page(staff_client, agent):
    french = Skill.objects.create(name="french")
    agent.refresh_from_db()
    form = change_form(agent)
    form.update(inline("skills", [{"skill": str(french.pk), "level": "3"}]))
    response = staff_client.post(f"{AGENTS}{agent.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    assert AgentSkill.objects.get(agent=agent).level == 3
    assert directory().skills_of[agent.pk] == {"french": 3}


def test_room_actions_transfer_to_a_team_and_set_skills(
    staff_client, customer, other_customer, agent, other_agent
):
    billing, _ = services.team_create(name="Billing", members=[other_agent.username])
    Skill.objects.create(name="french")
    online(agent)
    room = open_room(customer)
    assert room.agent_id == agent.pk

    page = staff_client.post(
        ROOMS, {"action": "transfer_rooms_to_team", "_selected_action": [str(room.pk)]}
    )
    assert "Transfer rooms to a team" in page.content.decode()
    done = staff_client.post(
        ROOMS,
        {
            "action": "transfer_rooms_to_team",
            "_selected_action": [str(room.pk)],
            "to_team": str(billing.pk),
            "note": "invoice",
            "apply": "1",
        },
        follow=True,
    )
    assert "Transferred: 1 room(s)." in done.content.decode()
    logged = LogEntry.objects.get(object_id=str(room.pk)).get_change_message()
    assert logged == "Transferred to Billing (head of its queue)."  # nobody of it is online
    room = Room.objects.get(pk=room.pk)
    assert (room.team_id, room.status) == (billing.pk, "queued")

    done = staff_client.post(
        ROOMS,
        {
            "action": "set_room_skills",
            "_selected_action": [str(room.pk)],
            "skills": "french:2",
            "apply": "1",
        },
        follow=True,
    )
    assert "Skills set: 1 room(s)" in done.content.decode()
    assert Room.objects.get(pk=room.pk).required_skills == [{"name": "french", "min_level": 2}]
    assert RoutingAudit.objects.filter(action="skills", room_id=room.pk).exists()
    listing = staff_client.get(f"{ROOMS}?team={billing.pk}").content.decode()
    assert str(room.pk) in listing
    assert str(open_room(other_customer).pk) not in listing


def test_timers_and_address_are_set_in_the_team_form_and_flags_shown_in_the_rooms_list(
    staff_client, customer
):
    """Issue 30: the team's ring-no-answer time, SLA targets and e-mail address in its
    form (read by routing's directory); the rooms list shows a room's SLA flags in words."""
    form = team_form(
        ring_no_answer_seconds="45",
        first_response_seconds="300",
        resolution_seconds="",
        email="billing@example.com",
    )
    response = staff_client.post(f"{TEAMS}add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    info = directory().team(Team.objects.get(name="Billing").pk)
    assert (info.ring_no_answer_seconds, info.first_response_seconds) == (45, 300)
    assert (info.resolution_seconds, info.email) == (None, "billing@example.com")
    bad = staff_client.post(f"{TEAMS}add/", team_form(name="Other", email="nope"))
    assert bad.status_code == 200
    assert not Team.objects.filter(name="Other").exists()

    room = open_room(customer)
    Room.objects.filter(pk=room.pk).update(sla_first_response="breached", sla_resolution="nearing")
    page = staff_client.get(ROOMS).content.decode()
    assert "SLA breached: first response" in page
    assert "SLA nearing: resolution" in page
