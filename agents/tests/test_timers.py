"""Ring-no-answer and SLA flags (issue 30) on the real embedded servers, through the
services the periodic hook runs and the REST API staff and customers read. Time moves
by the ``now`` the sweeps take, never by sleeping."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from agents import services
from agents.directory import directory
from agents.hours import parse_week
from agents.models import RoutingAudit
from agents.services import timers
from agents.tests.test_routing import online
from agents.tests.test_teams import open_room, team
from chat import assignment, timeline
from chat import services as chat_services
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat_project.errors import NotFound

pytestmark = pytest.mark.django_db(transaction=True)


def fresh(room: Room) -> Room:
    return Room.objects.get(pk=room.pk)


def say(room: Room, user: User, text: str = "hello") -> dict:
    return chat_services.message_send(
        room_id=str(room.pk), sender=user, client_msg_id=uuid.uuid4().hex, text=text
    )


def events_for(api, user, room: Room) -> list[dict]:
    api.force_login(user)
    response = api.get(f"/api/chat/rooms/{room.pk}/events", {"after_seq": 0})
    assert response.status_code == 200, response.content
    return response.json()["events"]


@pytest.fixture
def pair(make_user):
    first = make_user(username="first", role="agent", max_chats=3)
    second = make_user(username="second", role="agent", max_chats=3)
    online(first)
    return first, second


# --- ring-no-answer ----------------------------------------------------------------------


def test_unanswered_room_goes_to_the_next_agent_and_the_customer_reads_why(
    pair, customer, api, captured, settings
):
    settings.RING_NO_ANSWER_SECONDS = 120
    first, second = pair
    room = open_room(customer)
    assert room.agent_id == first.pk
    online(second)

    # Given the agent has said nothing for 119 s, nothing moves.
    assert services.rooms_unanswered_reroute(now=room.assigned_at + timedelta(seconds=119)) == []
    # When 120 s have passed, the room goes to the other agent.
    moved = services.rooms_unanswered_reroute(now=room.assigned_at + timedelta(seconds=121))

    assert len(moved) == 1
    room = fresh(room)
    assert (room.status, room.agent_id) == (RoomStatus.ACTIVE, second.pk)
    assert room.skip_agents == [str(first.pk)]
    counts = {u.username: u.active_chats for u in User.objects.filter(role="agent")}
    assert counts == {"first": 0, "second": 1}
    audit = RoutingAudit.objects.get(action="ring_missed")
    assert (audit.from_agent_id, audit.to_agent_id, audit.room_id) == (first.pk, second.pk, room.pk)
    # The customer reads a line from the renderer; the missed agent is told why.
    seen = events_for(api, customer, room)
    moved_event = [e for e in seen if e["event"] == "room-transferred"][-1]["data"]
    assert moved_event["reason"] == "ring_no_answer"
    assert moved_event["text"] == "Your chat was passed to another agent."
    told = [m for g, m in captured if g == f"user.{first.pk}" and m["event"] == "ring-missed"]
    assert told[0]["data"]["room_id"] == str(room.pk)
    assert told[0]["data"]["set_away"] is False


def test_a_reply_in_time_keeps_the_room(pair, customer, settings):
    settings.RING_NO_ANSWER_SECONDS = 120
    first, second = pair
    room = open_room(customer)
    online(second)
    say(room, first)

    assert services.rooms_unanswered_reroute(now=room.assigned_at + timedelta(hours=1)) == []
    assert fresh(room).agent_id == first.pk


def test_with_nobody_free_the_room_waits_at_the_head_and_never_returns_to_the_agent(
    pair, customer, make_user, api, settings
):
    settings.RING_NO_ANSWER_SECONDS = 120
    first, _second = pair
    room = open_room(customer)
    waiting = open_room(make_user(username="later"))  # first has room for it too
    assert waiting.agent_id == first.pk
    say(waiting, first)

    services.rooms_unanswered_reroute(now=room.assigned_at + timedelta(seconds=121))

    room = fresh(room)
    # The one agent online may not have it back: it waits, first in its queue.
    assert (room.status, room.agent_id) == (RoomStatus.QUEUED, None)
    services.queue_drain()
    assert fresh(room).status == RoomStatus.QUEUED
    seen = events_for(api, customer, room)
    assert seen[-1]["event"] == "system-message"
    assert seen[-1]["data"]["kind"] == "ring_no_answer"
    assert "passed to another agent" in seen[-1]["data"]["text"]


def test_team_override_and_off(pair, customer, settings, make_user):
    settings.RING_NO_ANSWER_SECONDS = 120
    first, second = pair
    quick = team("Quick", first, second, ring_no_answer_seconds=30)
    never = team("Never", first, second, ring_no_answer_seconds=0)
    fast = open_room(customer, team_id=str(quick.pk))
    slow = open_room(make_user(username="c2"), team_id=str(never.pk))
    online(second)
    at = max(fast.assigned_at, slow.assigned_at)

    services.rooms_unanswered_reroute(now=at + timedelta(seconds=31))
    assert fresh(fast).agent_id != fast.agent_id
    services.rooms_unanswered_reroute(now=at + timedelta(days=1))
    assert fresh(slow).agent_id == slow.agent_id


def test_misses_in_a_row_set_the_agent_away_and_a_reply_resets_the_streak(
    make_user, settings, captured
):
    settings.RING_NO_ANSWER_SECONDS = 60
    settings.RING_MISSES_BEFORE_AWAY = 3
    slacker = make_user(username="slacker", role="agent", max_chats=10)
    online(slacker)

    def miss() -> None:
        room = open_room(make_user(username=f"c{uuid.uuid4().hex[:6]}"))
        assert room.agent_id == slacker.pk
        services.rooms_unanswered_reroute(now=room.assigned_at + timedelta(seconds=61))
        assert fresh(room).status == RoomStatus.QUEUED

    miss()
    miss()
    # A reply to another room ends the streak.
    answered = open_room(make_user(username="answered"))
    say(answered, slacker)
    miss()
    miss()
    assert User.objects.get(pk=slacker.pk).status == "online"
    miss()

    assert User.objects.get(pk=slacker.pk).status == "away"
    told = [m["data"] for g, m in captured if m.get("event") == "ring-missed"]
    assert [t["misses"] for t in told] == [1, 2, 1, 2, 3]
    assert told[-1]["set_away"] is True
    assert "away" in told[-1]["text"]


def test_reply_racing_the_reroute_one_wins_and_nothing_is_lost(pair, customer, settings):
    """The race of the brief: the agent's first reply and the re-route of the same room,
    at the same moment, many times. Either the reply is stored and the room stays, or
    the re-route happened and the reply was refused (``not_found``, the agent is told):
    never a stored reply in a room taken away for not replying, never a silent loss."""
    settings.RING_NO_ANSWER_SECONDS = 1
    _first, second = pair
    User.objects.filter(role="agent").update(max_chats=50)
    online(second)
    outcomes = set()
    for n in range(8):
        room = open_room(User.objects.create(username=f"racer{n}", role="user"))
        agent = User.objects.get(pk=room.agent_id)
        barrier = threading.Barrier(2)
        result: dict[str, object] = {}

        def reply(room=room, agent=agent, barrier=barrier, result=result):
            barrier.wait()
            try:
                result["reply"] = say(room, agent, "here!")
            except NotFound as exc:
                result["reply"] = exc

        def reroute(room=room, barrier=barrier, result=result):
            barrier.wait()
            result["moved"] = services.rooms_unanswered_reroute(
                now=room.assigned_at + timedelta(seconds=5)
            )

        threads = [threading.Thread(target=reply), threading.Thread(target=reroute)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        stored = RoomEvent.objects.filter(room_id=room.pk, kind=EventKind.MESSAGE, text="here!")
        now = fresh(room)
        if isinstance(result["reply"], NotFound):
            outcomes.add("rerouted")
            assert not stored.exists()
            assert now.agent_id != agent.pk
        else:
            outcomes.add("replied")
            assert stored.count() == 1
            assert (now.agent_id, now.first_agent_reply_at is not None) == (agent.pk, True)
            assert result["moved"] == []
    assert outcomes  # at least one run decided; both orders are checked below too


def test_reply_first_then_reroute_refused_and_reroute_first_then_reply_refused(
    pair, customer, make_user
):
    first, second = pair
    online(second)
    room = open_room(customer)
    say(room, first)
    # The re-route read the room before the reply: its compare-and-set is refused.
    stale = Room.objects.get(pk=room.pk)
    stale.first_agent_reply_at = None
    assert (
        assignment.pass_on_unanswered(
            room=stale, from_agent=first, to_agent=second, queued_at=room.created_at
        )
        is None
    )
    assert fresh(room).agent_id == first.pk

    other = open_room(make_user(username="c9"))
    holder = User.objects.get(pk=other.agent_id)
    assert assignment.pass_on_unanswered(
        room=other, from_agent=holder, to_agent=None, queued_at=other.created_at
    )
    with pytest.raises(NotFound):
        say(other, holder, "too late")


# --- SLA -----------------------------------------------------------------------------------


def sla_rows(room: Room) -> list[tuple[str, str]]:
    rows = RoomEvent.objects.filter(room_id=room.pk, kind=EventKind.SLA).order_by("seq")
    return [(r.data["target"], r.data["state"]) for r in rows]


def test_sla_rows_once_per_state_staff_only(pair, customer, api, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = 100
    settings.SLA_RESOLUTION_SECONDS = 1000
    settings.SLA_NEARING_FRACTION = 0.8
    first, _second = pair
    room = open_room(customer)
    start = room.created_at

    assert services.rooms_sla_check(now=start + timedelta(seconds=79)) == 0
    assert services.rooms_sla_check(now=start + timedelta(seconds=81)) == 1
    assert services.rooms_sla_check(now=start + timedelta(seconds=90)) == 0  # idempotent
    assert services.rooms_sla_check(now=start + timedelta(seconds=101)) == 1
    say(room, first)  # the first response, late: the breach stays
    assert services.rooms_sla_check(now=start + timedelta(seconds=801)) == 1
    assert services.rooms_sla_check(now=start + timedelta(seconds=1001)) == 1
    assert services.rooms_sla_check(now=start + timedelta(seconds=2000)) == 0

    assert sla_rows(room) == [
        ("first_response", "nearing"),
        ("first_response", "breached"),
        ("resolution", "nearing"),
        ("resolution", "breached"),
    ]
    audits = RoutingAudit.objects.filter(action__in=["sla_first", "sla_resolve"])
    assert sorted(a.action for a in audits) == ["sla_first", "sla_resolve"]
    # Staff read the rows and the room's flags; the customer neither.
    staff = [e for e in events_for(api, first, room) if e["event"] == "room-sla"]
    assert [(e["data"]["target"], e["data"]["state"]) for e in staff] == sla_rows(room)
    assert staff[1]["data"]["due_at"] == (start + timedelta(seconds=100)).isoformat()
    assert not [e for e in events_for(api, customer, room) if e["event"] == "room-sla"]
    api.force_login(first)
    listed = api.get("/api/chat/rooms").json()["results"][0]
    assert listed["sla"] == {"first_response": "breached", "resolution": "breached"}
    api.force_login(customer)
    assert "sla" not in api.get("/api/chat/rooms").json()["results"][0]
    assert "sla" not in api.get(f"/api/chat/rooms/{room.pk}").json()


def test_team_targets_override_the_defaults(pair, customer, make_user, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = 0  # no default target
    settings.SLA_RESOLUTION_SECONDS = 0
    first, _second = pair
    strict = team("Strict", first, first_response_seconds=10)
    team("Lax", first, first_response_seconds=0)
    mine = open_room(customer, team_id=str(strict.pk))
    general = open_room(make_user(username="c3"))

    services.rooms_sla_check(now=general.created_at + timedelta(days=1))

    assert sla_rows(mine) == [("first_response", "breached")]
    assert sla_rows(general) == []
    row = RoomEvent.objects.get(room_id=mine.pk, kind=EventKind.SLA)
    assert row.data["team_id"] == str(strict.pk)


def test_the_sla_clock_counts_the_teams_open_hours(pair, customer, make_user, settings):
    """A chat left while its team is closed is not late for the closed hours: its target
    counts open time only (``SLA_BUSINESS_HOURS``); the general queue's counts every hour."""
    settings.SLA_FIRST_RESPONSE_SECONDS = 3600
    settings.SLA_NEARING_FRACTION = 0.5
    first, _second = pair
    # Open one hour a week, on a weekday that is not today's: closed from now on.
    today = timezone.now().weekday()
    closed_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(today + 3) % 7]
    night = team("Night", first, hours=parse_week(f"{closed_day} 03:00-04:00"))
    mine = open_room(customer, team_id=str(night.pk))
    general = open_room(make_user(username="c4"))
    later = max(mine.created_at, general.created_at) + timedelta(hours=30)
    assert timers.rooms_sla_check(now=later) == 1  # the general room, straight to breached
    assert sla_rows(general) == [("first_response", "breached")]
    assert sla_rows(mine) == []  # 30 h of wall time, none of it open
    settings.SLA_BUSINESS_HOURS = False
    assert timers.rooms_sla_check(now=later) == 1
    assert sla_rows(mine) == [("first_response", "breached")]


def test_concurrent_checks_write_each_row_once(pair, customer, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = 100
    room = open_room(customer)
    at = room.created_at + timedelta(seconds=150)
    barrier = threading.Barrier(4)

    def check():
        barrier.wait()
        for _ in range(3):
            timers.rooms_sla_check(now=at)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sla_rows(room) == [("first_response", "breached")]
    assert RoutingAudit.objects.filter(action="sla_first").count() == 1


def test_the_tick_runs_all_three_and_is_cheap_when_nothing_is_due(
    pair, customer, settings, django_assert_num_queries
):
    settings.SLA_FIRST_RESPONSE_SECONDS = 100
    room = open_room(customer)
    # Nothing due: the directory is cached; one read per sweep, each a range on its
    # index: ring-no-answer, the SLA sweep of queued and of active rooms, the offline
    # retry. No write, no read per room.
    services.routing_timers_tick(now=room.created_at)
    with django_assert_num_queries(4) as ctx:
        assert services.routing_timers_tick(now=room.created_at) == {
            "rerouted": 0,
            "sla_rows": 0,
            "emailed": 0,
        }
    firsts = [q["sql"] for q in ctx.captured_queries]
    assert "first_agent_reply_at" in firsts[0], firsts


def test_sweeps_read_only_rooms_that_are_due(pair, customer, make_user, settings):
    """Rooms that are not due (a team with ring-no-answer off, a room already flagged
    nearing and not yet past its target) stay out of the sweeps' batches, so they
    cannot crowd out the rooms that are due however many they are."""
    settings.RING_NO_ANSWER_SECONDS = 60
    settings.SLA_RESOLUTION_SECONDS = 100
    first, second = pair
    never = team("Never", first, second, ring_no_answer_seconds=0, resolution_seconds=0)
    off = open_room(customer, team_id=str(never.pk))
    plain = open_room(make_user(username="c4"))
    at = max(off.assigned_at, plain.assigned_at) + timedelta(seconds=90)

    due, _shortest = timers._ring_due(directory(), at)
    found = timeline.unanswered_rooms(assigned_before=at, due=due)
    assert [r.pk for r in found] == [plain.pk]

    assert services.rooms_sla_check(now=at) == 1  # plain: nearing
    due, _earliest = timers._sla_due(directory(), at)
    assert timeline.rooms_open_since(status="active", created_before=at, due=due) == []
    later = at + timedelta(seconds=20)
    due, _earliest = timers._sla_due(directory(), later)
    found = timeline.rooms_open_since(status="active", created_before=later, due=due)
    assert [r.pk for r in found] == [plain.pk]
