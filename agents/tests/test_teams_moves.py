"""Rooms moving between teams and time (issue 15), on the real embedded servers:
overflow to a fallback team, business hours and openings, transfer to a team, a deleted
team. (Who may take a room and the queues: ``test_teams.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import User
from agents import services
from agents.hours import Schedule, parse_week
from agents.models import RoutingAudit
from agents.tests.test_routing import online
from agents.tests.test_teams import open_room, queue_of, team
from chat import services as chat_services
from chat.models import EventKind, Room, RoomEvent

pytestmark = pytest.mark.django_db(transaction=True)


# --- overflow -------------------------------------------------------------------------------


def test_a_room_overflows_to_the_fallback_team_after_its_time(make_user, customers, captured):
    # given a night team that takes the support team's overflow after 60 s
    night_agent = make_user(username="night", role="agent")
    night = team("Night", night_agent)
    support = team("Support", overflow_after_seconds=60, fallback="Night")
    online(night_agent)
    room = open_room(customers[0], team_id=str(support.pk))
    assert room.status == "queued"  # nobody in support

    # when 30 s have passed nothing moves; after 61 s the room goes to the night team
    assert services.teams_overflow(now=room.team_at + timedelta(seconds=30)) == []
    moved = services.teams_overflow(now=room.team_at + timedelta(seconds=61))

    # then it is routed there at once, the customer read why, and the log says so
    assert len(moved) == 1
    room = Room.objects.get(pk=room.pk)
    assert (room.team_id, room.agent_id) == (night.pk, night_agent.pk)
    note = RoomEvent.objects.get(room_id=room.pk, kind=EventKind.SYSTEM)
    assert "Night" in note.text
    assert note.data["from_team"] == {"id": str(support.pk), "name": "Support"}
    audit = RoutingAudit.objects.get(action="overflowed")
    assert (audit.room_id, audit.team_id, audit.to_team_id) == (room.pk, support.pk, night.pk)
    shown = [
        m["data"]
        for group, m in captured
        if group == f"room.{room.pk}" and m.get("event") == "system-message"
    ]
    assert (shown[0]["text"], shown[0]["seq"]) == (note.text, note.seq)


def test_overflow_waits_while_the_fallback_is_closed(make_user, customers, clock):
    clock["at"] = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon
    team("Night", time_zone="UTC", hours=parse_week("mon-fri 20:00-24:00"))
    support = team("Support", overflow_after_seconds=60, fallback="Night")
    room = open_room(customers[0], team_id=str(support.pk))
    assert services.teams_overflow(now=clock["at"] + timedelta(minutes=5)) == []
    assert Room.objects.get(pk=room.pk).team_id == support.pk


# --- business hours -------------------------------------------------------------------------


def test_outside_hours_the_room_is_created_queued_and_drains_first_at_opening(
    make_user, customers, clock, api
):
    # given an office team open 09:00-17:00 in Paris with a free, online member
    clock["at"] = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)  # Monday 08:30 in Paris
    agent = make_user(username="agent", role="agent", max_chats=1)
    office = team(
        "Office",
        agent,
        time_zone="Europe/Paris",
        hours=parse_week("mon-fri 09:00-17:00"),
        offline_message="Back at nine.",
    )
    online(agent)
    services.teams_tick(locked=False)  # the tick sees the team closed

    # when a customer writes before nine
    api.force_login(customers[0])
    answer = api.post(
        "/api/chat/rooms", {"subject": "early", "message": "hello?", "team_id": str(office.pk)}
    ).json()
    later = open_room(customers[1], team_id=str(office.pk))

    # then the answer says the team is closed, when it opens and its message; the room
    # waits although the agent is free
    assert answer["status"] == "queued"
    assert answer["offline"] is True
    assert answer["next_open_at"] == "2026-03-02T08:00:00.000Z"
    assert answer["offline_message"] == "Back at nine."
    assert answer["team"] == {"id": str(office.pk), "name": "Office"}
    assert answer["queue_position"] == 1
    assert Room.objects.get(pk=answer["id"]).created_offline is True
    assert services.queue_drain() == 0
    # the customer leaves an address and a message, which the agents see
    left = api.post(
        f"/api/chat/rooms/{answer['id']}/offline-message",
        {"email": "early@example.com", "message": "Call me back please"},
    )
    assert left.status_code == 201, left.content
    assert services.queue_snapshot()[0]["estimated_wait_seconds"] >= 1800

    # when the office opens
    clock["at"] = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)
    report = services.teams_tick(locked=False)

    # then its queue drains in order: the first room first
    assert report["opened"] == 1
    first = Room.objects.get(pk=answer["id"])
    assert (first.status, first.agent_id) == ("active", agent.pk)
    assert Room.objects.get(pk=later.pk).status == "queued"
    texts = [e.text for e in RoomEvent.objects.filter(room_id=first.pk, kind="message")]
    assert texts == ["hello?", "Call me back please"]


# --- transfer to a team ---------------------------------------------------------------------


def test_transfer_to_a_full_team_lands_at_its_queue_head(make_user, customers, captured):
    # given a billing team whose only member is full, with a room already waiting
    general = make_user(username="general", role="agent")
    biller = make_user(username="biller", role="agent", max_chats=1)
    billing = team("Billing", biller)
    online(general, biller)
    holding = open_room(customers[0], team_id=str(billing.pk))
    waiting = open_room(customers[1], team_id=str(billing.pk))
    assert (holding.agent_id, waiting.status) == (biller.pk, "queued")
    mine = open_room(customers[2])
    assert mine.agent_id == general.pk

    # when the general agent transfers their room to billing
    answer = services.room_transfer_to_team(
        room_id=str(mine.pk), actor=general, to_team_id=str(billing.pk), note="invoice"
    )

    # then it waits at the head of billing's queue, the agent's slot is free again
    assert (answer["queued"], answer["to_agent"]) == (True, None)
    assert answer["room"]["queue_position"] == 1
    assert queue_of(billing.pk) == [mine.pk, waiting.pk]
    assert User.objects.get(pk=general.pk).active_chats == 0
    revoked = [m for g, m in captured if m.get("type") == "room.access"]
    assert revoked[-1]["revoked_user_ids"] == [str(general.pk)]
    # the waiting customers hear their places in billing's queue, with the team
    places = {
        m["data"]["room_id"]: (m["data"]["position"], m["data"]["team"])
        for _, m in captured
        if m.get("event") == "queue-updated"
    }
    brief = {"id": str(billing.pk), "name": "Billing"}
    assert places[str(mine.pk)] == (1, brief)
    assert places[str(waiting.pk)] == (2, brief)

    # and it is the next one billing takes
    chat_services.room_close(room_id=str(holding.pk), actor=biller)
    assert Room.objects.get(pk=mine.pk).agent_id == biller.pk
    assert Room.objects.get(pk=waiting.pk).status == "queued"


def test_transfer_to_a_team_with_a_free_member_hands_over(make_user, customers):
    general = make_user(username="general", role="agent")
    biller = make_user(username="biller", role="agent")
    billing = team("Billing", biller)
    online(general, biller)
    room = open_room(customers[0])
    assert room.agent_id in (general.pk, biller.pk)
    holder = User.objects.get(pk=room.agent_id)
    if holder.pk == biller.pk:  # make the general agent the holder
        services.room_transfer(room_id=str(room.pk), actor=biller, to_agent_id=str(general.pk))
    answer = services.room_transfer_to_team(
        room_id=str(room.pk), actor=general, to_team_id=str(billing.pk)
    )
    assert (answer["queued"], answer["to_agent"]["id"]) == (False, str(biller.pk))
    assert answer["to_team"] == {"id": str(billing.pk), "name": "Billing"}
    room = Room.objects.get(pk=room.pk)
    assert (room.agent_id, room.team_id) == (biller.pk, billing.pk)


def test_a_schedule_is_judged_in_its_time_zone():
    # (a guard for the fixtures above: 08:30 in Paris is closed, 09:00:01 is open)
    office = Schedule.build(timezone="Europe/Paris", intervals=parse_week("mon 09:00-17:00"))
    assert not office.is_open(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))
    assert office.is_open(datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC))


# --- a deleted team -------------------------------------------------------------------------


def test_a_deleted_teams_rooms_go_to_the_general_queue(make_user, customers):
    member = make_user(username="member", role="agent", max_chats=1)
    doomed = team("Doomed", member)
    online(member)
    held = open_room(customers[0], team_id=str(doomed.pk))
    waiting = open_room(customers[1], team_id=str(doomed.pk))
    assert (held.agent_id, waiting.status) == (member.pk, "queued")

    doomed.delete()

    # the waiting room moved (a system message says so), the held one keeps its agent
    moved = Room.objects.get(pk=waiting.pk)
    assert (moved.team_id, moved.status) == (None, "queued")
    assert RoomEvent.objects.filter(room_id=waiting.pk, kind=EventKind.SYSTEM).count() == 1
    # and when it goes back to the queue it is the general queue's, routed at once
    User.objects.filter(pk=member.pk).update(max_chats=2)
    services.room_requeue(room_id=held.pk, actor=None, reason="test")
    assert Room.objects.get(pk=held.pk).team_id is None
    assert queue_of(doomed.pk) == []
