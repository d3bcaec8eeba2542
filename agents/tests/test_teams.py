"""Teams and skills-based routing (issue 15), on the real embedded servers: who may take
a room, one FIFO queue per team, a burst across teams whose agents overlap, and with no
team the routing of before. (Overflow, hours, transfers: ``test_teams_moves.py``.)"""

from __future__ import annotations

import itertools
import threading

import pytest
from bson import ObjectId
from django.db import connection

from accounts.models import User
from agents import services
from agents.directory import Directory, directory
from agents.models import AgentSkill, RoutingAudit, Skill, Topic
from agents.tests.test_routing import online
from chat import selectors as chat_selectors
from chat import services as chat_services
from chat.models import Room

pytestmark = pytest.mark.django_db(transaction=True)


def team(name, *members, **settings):
    created, _ = services.team_create(name=name, members=[m.username for m in members], **settings)
    return created


def skill(agent, name, level=None):
    held, _ = Skill.objects.get_or_create(name=name)
    AgentSkill.objects.create(agent=agent, skill=held, level=level)


def open_room(customer, **where) -> Room:
    dto, created = chat_services.room_create(customer=customer, subject="help", **where)
    assert created
    return Room.objects.get(pk=dto["id"])


def queue_of(team_id) -> list[ObjectId]:
    return [room.pk for room in chat_selectors.team_queue(team_id)]


# --- eligibility: team x skill x status x capacity ------------------------------------------


TEAM, OTHER = ObjectId(), ObjectId()
MATRIX = list(
    itertools.product(
        ["member", "not a member", "general queue"],
        ["level 3", "level 1", "no level", "lacks it"],
        ["online", "away", "no socket", "not accepting"],
        ["free slot", "full"],
    )
)


@pytest.mark.parametrize(("membership", "held", "status", "load"), MATRIX)
def test_eligibility_matrix(membership, held, status, load):
    """The whole rule, one agent and one room needing ``french`` at level 2 or more."""
    agent = User(
        pk=ObjectId(),
        role="agent",
        is_active=True,
        status="away" if status == "away" else "online",
        accepting_chats=status != "not accepting",
        max_chats=3,
        active_chats=3 if load == "full" else 1,
    )
    levels = {"level 3": 3, "level 1": 1, "no level": None}
    teams = Directory(
        teams={TEAM: None, OTHER: None},  # only the keys matter for membership
        teams_of={agent.pk: frozenset({TEAM if membership == "member" else OTHER})},
        skills_of={agent.pk: {"french": levels[held]} if held in levels else {}},
    )
    room = Room(
        team_id=None if membership == "general queue" else TEAM,
        required_skills=[{"name": "french", "min_level": 2}],
    )
    online_ids = set() if status == "no socket" else {str(agent.pk)}

    fits = services.agent_fits(agent, room, directory=teams, online_ids=online_ids)

    expected = (
        membership in ("member", "general queue")
        and held == "level 3"
        and status == "online"
        and load == "free slot"
    )
    assert fits is expected


def test_routing_applies_the_rule_and_then_the_load_ratio(make_user, customers):
    # given four online agents; only two are in billing with French at level 2 or more
    lacking = make_user(username="lacking", role="agent")
    low = make_user(username="low", role="agent")
    busy = make_user(username="busy", role="agent", max_chats=4, active_chats=2)
    idle = make_user(username="idle", role="agent", max_chats=4)
    outsider = make_user(username="outsider", role="agent")
    billing = team("Billing", lacking, low, busy, idle)
    skill(low, "french", 1)
    for agent in (busy, idle, outsider):
        skill(agent, "french", 3)
    online(lacking, low, busy, idle, outsider)
    Topic.objects.create(key="fr", label="Billing in French", team=billing, skills="french:2")

    # when a room comes in on that topic
    room = open_room(customers[0], topic="fr")

    # then the least loaded agent who fits gets it (idle 0/4 before busy 2/4)
    assert room.team_id == billing.pk
    assert room.required_skills == [{"name": "french", "min_level": 2}]
    assert room.agent_id == idle.pk
    audit = RoutingAudit.objects.get(room_id=room.pk)
    assert (audit.action, audit.team_id) == ("assigned", billing.pk)
    # and a room of the general queue may go to anyone (the outsider is the least loaded)
    assert open_room(customers[1]).agent_id in {outsider.pk, lacking.pk, low.pk}


def test_a_room_nobody_fits_waits_without_holding_up_its_queue(make_user, customers):
    agent = make_user(username="agent", role="agent", max_chats=5)
    support = team("Support", agent)
    Skill.objects.create(name="german")
    online(agent)
    first = open_room(customers[0], team_id=str(support.pk))
    assert first.agent_id == agent.pk
    # a room that needs German waits; the room behind it is routed past it
    chat_services.room_close(room_id=str(first.pk), actor=agent)
    User.objects.filter(pk=agent.pk).update(active_chats=0, max_chats=0)  # hold routing
    german = open_room(customers[1], team_id=str(support.pk))
    services.room_skills_set(room_id=german.pk, actor=agent, required_skills=[{"name": "german"}])
    plain = open_room(customers[2], team_id=str(support.pk))
    User.objects.filter(pk=agent.pk).update(max_chats=5)
    services.queue_drain()
    assert Room.objects.get(pk=plain.pk).agent_id == agent.pk
    assert Room.objects.get(pk=german.pk).status == "queued"
    assert chat_selectors.room_queue_position(Room.objects.get(pk=german.pk)) == 1
    # when the agent learns German, the room goes at once
    skill(agent, "german")
    assert Room.objects.get(pk=german.pk).agent_id == agent.pk


# --- one FIFO queue per team: a burst across three teams ------------------------------------


def test_200_concurrent_creates_across_3_teams_with_overlapping_agents(make_user):
    # given three teams; agents a0..a8 with 3 slots each, a0..a2 in two teams each
    agents = [make_user(username=f"a{n}", role="agent", max_chats=3) for n in range(9)]
    billing = team("Billing", agents[0], agents[1], agents[3], agents[4])
    tech = team("Tech", agents[1], agents[2], agents[5], agents[6])
    sales = team("Sales", agents[2], agents[0], agents[7], agents[8])
    teams = [billing, tech, sales]
    members = {t.pk: set(t.members.values_list("agent_id", flat=True)) for t in teams}
    online(*agents)
    customers = [make_user(username=f"burst{n:03d}") for n in range(200)]

    # when 200 customers open rooms at once from 8 threads, round-robin over the teams
    errors: list[BaseException] = []

    def create(chunk):
        try:
            for n, customer in chunk:
                chat_services.room_create(
                    customer=customer, subject="burst", team_id=str(teams[n % 3].pk)
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    numbered = list(enumerate(customers))
    threads = [threading.Thread(target=create, args=(numbered[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    # then all 27 slots are taken, never more than 3 per agent across their teams, each
    # room by a member of its team, and the counters agree with the rooms
    rooms = list(Room.objects.all())
    active = [r for r in rooms if r.status == "active"]
    assert len(active) == 27
    loads = {a.pk: sum(1 for r in active if r.agent_id == a.pk) for a in agents}
    assert set(loads.values()) == {3}
    assert all(r.agent_id in members[r.team_id] for r in active)
    assert {a.pk: a.active_chats for a in User.objects.filter(role="agent")} == loads
    # and every team's queue is gap-free and FIFO, with positions per queue
    snapshot = services.queue_snapshot()
    for t in teams:
        rows = [row for row in snapshot if row["room"].team_id == t.pk]
        assert [row["position"] for row in rows] == list(range(1, len(rows) + 1))
        assert rows[0]["team"] == {"id": str(t.pk), "name": t.name}
        stamps = [(row["room"].queued_at, row["room"].pk) for row in rows]
        assert stamps == sorted(stamps)
        ahead = [chat_selectors.room_queue_position(row["room"]) for row in rows]
        assert ahead == [row["position"] for row in rows]
    assert sum(1 for r in rooms if r.status == "queued") == 173

    # when agents close rooms one by one, each freed slot takes the head of a queue the
    # agent serves, and every queue leaves in order
    heads = {t.pk: queue_of(t.pk) for t in teams}
    taken: dict[ObjectId, list[ObjectId]] = {t.pk: [] for t in teams}
    for room in active[:24]:
        agent = User.objects.get(pk=room.agent_id)
        before = {r.pk for r in Room.objects.filter(status="active")}
        chat_services.room_close(room_id=str(room.pk), actor=agent)
        [new] = [r for r in Room.objects.filter(status="active") if r.pk not in before]
        assert new.agent_id == agent.pk
        assert agent.pk in members[new.team_id]
        taken[new.team_id].append(new.pk)
    for t in teams:
        assert taken[t.pk] == heads[t.pk][: len(taken[t.pk])]
    loads = {a.pk: a.active_chats for a in User.objects.filter(role="agent")}
    assert max(loads.values()) <= 3
    # and no room waits while a member of its team has a free slot
    for room in Room.objects.filter(status="queued"):
        assert all(loads[agent_id] == 3 for agent_id in members[room.team_id])


def test_a_shared_agent_takes_the_oldest_room_of_the_queues_they_serve(make_user, customers):
    shared = make_user(username="shared", role="agent", max_chats=1, accepting_chats=False)
    first, second = team("First", shared), team("Second", shared)
    online(shared)
    older = open_room(customers[0], team_id=str(second.pk))
    open_room(customers[1], team_id=str(first.pk))
    from accounts import services as account_services

    account_services.user_set_status(user=shared, status="online", accepting_chats=True)
    assert Room.objects.get(pk=older.pk).agent_id == shared.pk
    assert User.objects.get(pk=shared.pk).active_chats == 1


# --- no teams: the routing of before --------------------------------------------------------


def test_with_no_team_the_directory_is_empty_and_rooms_take_the_general_queue(make_user, customers):
    agent = make_user(username="agent", role="agent", max_chats=1)
    online(agent)
    first, second = open_room(customers[0]), open_room(customers[1])
    assert not directory().configured
    assert (first.team_id, first.required_skills, second.team_id) == (None, [], None)
    assert (first.agent_id, second.status) == (agent.pk, "queued")
    assert services.teams_tick(locked=False) == {}
    row = services.queue_snapshot()[0]
    assert (row["team"], row["position"]) == (None, 1)


def test_an_unknown_team_or_topic_is_refused(customers):
    from chat_project.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        open_room(customers[0], team_id=str(ObjectId()))
    with pytest.raises(ValidationFailed):
        open_room(customers[0], topic="nothing")
    assert Room.objects.count() == 0


def test_with_no_team_routing_sends_the_commands_it_sent_before(monkeypatch, make_user):
    """The seed-compatible case costs what it cost before teams: these are the commands
    of 1d6c09a (measured on that commit), but for the service rate, which is now counted
    per team by one aggregate per action instead of one count (the same number)."""
    from tests.mongo_commands import mongo_commands

    directory()  # read once per process (and again after a change): warm, as in a server
    agent = make_user(username="a", role="agent", max_chats=1)
    online(agent)
    c1, c2, c3 = (make_user(username=f"c{n}") for n in range(3))
    warm = open_room(c3)  # the writer has met the users, the audit log exists
    chat_services.room_close(room_id=str(warm.pk), actor=agent)
    rate = [("agents_routingaudit", "aggregate")] * 2
    with mongo_commands(monkeypatch) as routed:
        first = open_room(c1)
    with mongo_commands(monkeypatch) as queued:
        open_room(c2)
    with mongo_commands(monkeypatch) as closed:
        chat_services.room_close(room_id=str(first.pk), actor=agent)
    assert routed[:-1] == [  # (the test's own read of the room last)
        ("chat_room", "insert_many"),  # the room
        ("accounts_user", "aggregate"),  # the accepting agents
        ("chat_room", "aggregate"),  # the general queue's head
        ("accounts_user", "aggregate"),  # its customers
        ("accounts_user", "update_one"),  # the slot
        ("chat_room+chat_roomevent", "bulk_write"),  # the claim
        ("agents_routingaudit", "insert_many"),  # the audit row
        ("chat_room", "aggregate"),  # the queue for the notices (empty: no rate read)
        ("chat_room", "aggregate"),  # the room for the answer
        ("accounts_user", "aggregate"),  # its agent
    ]
    assert queued[:-1] == [
        ("chat_room", "insert_many"),
        ("accounts_user", "aggregate"),  # the accepting agents: nobody free
        ("chat_room", "aggregate"),  # the queue for the notices
        *rate,
        ("chat_room", "aggregate"),  # the room for the answer
        ("chat_room", "aggregate"),  # its place
    ]
    assert closed == [
        ("chat_room", "aggregate"),
        ("accounts_user", "aggregate"),
        ("chat_room+chat_roomevent", "bulk_write"),  # the close
        ("accounts_user", "update_one"),  # the slot back
        ("accounts_user", "aggregate"),  # the accepting agents
        ("chat_room", "aggregate"),  # the general queue's head
        ("accounts_user", "aggregate"),  # its customers
        ("accounts_user", "update_one"),  # the slot
        ("chat_room+chat_roomevent", "bulk_write"),  # the claim
        ("agents_routingaudit", "insert_many"),
        ("chat_room", "aggregate"),  # the queue for the notices
    ]
