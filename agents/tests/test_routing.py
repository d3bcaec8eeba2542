"""Routing on the real embedded servers: least-loaded choice, the FIFO queue, bursts,
transfers, vanished agents and counter repair."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import presence
from accounts.models import User
from agents import services
from agents.models import RoutingAudit
from chat import dtos
from chat import services as chat_services
from chat.models import Room, RoomStatus
from chat_project.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


def online(*agents) -> None:
    for agent in agents:
        presence.lease_touch(user_id=str(agent.pk), conn_id=f"c-{agent.pk}", ttl_seconds=300)


def offline(agent) -> None:
    presence.lease_release(user_id=str(agent.pk), conn_id=f"c-{agent.pk}", grace_seconds=0)
    presence.expire_stale()


def open_room(customer) -> Room:
    dto, created = chat_services.room_create(customer=customer, subject="help")
    assert created
    return Room.objects.get(pk=dto["id"])


@pytest.fixture
def customers(make_user):
    return [make_user(username=f"cust{n:03d}") for n in range(12)]


def test_new_room_goes_at_once_to_the_least_loaded_agent(make_user, customers):
    busy = make_user(username="busy", role="agent", max_chats=5, active_chats=2)
    idle = make_user(username="idle", role="agent", max_chats=5)
    online(busy, idle)

    room = open_room(customers[0])

    assert room.status == RoomStatus.ACTIVE
    assert room.agent_id == idle.pk
    assert User.objects.get(pk=idle.pk).active_chats == 1
    audit = RoutingAudit.objects.get(room_id=room.pk)
    assert (audit.action, audit.to_agent_id) == ("assigned", idle.pk)


def test_load_is_a_ratio_of_capacity(make_user, customers):
    small = make_user(username="small", role="agent", max_chats=2, active_chats=1)  # 0.5
    large = make_user(username="large", role="agent", max_chats=10, active_chats=4)  # 0.4
    online(small, large)
    assert open_room(customers[0]).agent_id == large.pk


def test_tie_breaks_on_oldest_assignment_then_id(make_user, customers):
    now = timezone.now()
    recent = make_user(username="recent", role="agent", last_assigned_at=now)
    older = make_user(username="older", role="agent", last_assigned_at=now - timedelta(hours=1))
    online(recent, older)
    assert open_room(customers[0]).agent_id == older.pk
    # now both have 1 chat: "recent" was assigned longer ago than "older" just was
    assert open_room(customers[1]).agent_id == recent.pk
    first = min([recent, older], key=lambda a: str(a.pk))
    User.objects.filter(pk__in=[recent.pk, older.pk]).update(last_assigned_at=None, active_chats=0)
    assert services.agents_eligible()[0].pk == first.pk


@pytest.mark.parametrize(
    "change",
    [
        {"status": "away"},
        {"status": "busy"},
        {"status": "offline"},
        {"accepting_chats": False},
        {"active_chats": 5},
        {"is_active": False},
    ],
)
def test_ineligible_agents_are_never_chosen(make_user, customers, change):
    agent = make_user(username="agentx", role="agent")
    User.objects.filter(pk=agent.pk).update(**change)
    online(agent)
    room = open_room(customers[0])
    assert room.status == RoomStatus.QUEUED
    assert room.agent_id is None


def test_an_agent_without_a_live_lease_is_not_chosen(make_user, customers):
    agent = make_user(username="agentx", role="agent")
    presence.lease_touch(user_id=str(agent.pk), conn_id="c", ttl_seconds=0.001)
    assert open_room(customers[0]).status == RoomStatus.QUEUED


def test_queue_drains_in_order_when_an_agent_comes(make_user, customers, captured):
    rooms = [open_room(c) for c in customers[:4]]
    assert [r.status for r in rooms] == ["queued"] * 4
    agent = make_user(username="late", role="agent", max_chats=2)
    online(agent)
    # the gateway calls this when the agent's first socket comes up
    services.queue_drain()
    statuses = [Room.objects.get(pk=r.pk).status for r in rooms]
    assert statuses == ["active", "active", "queued", "queued"]
    notices = [m["data"] for _, m in captured if m.get("event") == "queue-updated"]
    assert {"room_id": str(rooms[2].pk), "position": 1} in [
        {k: n[k] for k in ("room_id", "position")} for n in notices
    ]


def test_raising_max_chats_drains_the_queue(make_user, customers):
    agent = make_user(username="agentx", role="agent", max_chats=1)
    online(agent)
    first, second = open_room(customers[0]), open_room(customers[1])
    assert (first.agent_id, second.status) == (agent.pk, "queued")
    agent = User.objects.get(pk=agent.pk)
    agent.max_chats = 2
    agent.save()  # what the admin's form does
    assert Room.objects.get(pk=second.pk).agent_id == agent.pk


def test_switching_accepting_on_drains_the_queue(make_user, customers):
    from accounts import services as account_services

    agent = make_user(username="agentx", role="agent", accepting_chats=False)
    online(agent)
    room = open_room(customers[0])
    assert room.status == "queued"
    account_services.user_set_status(user=agent, status="online", accepting_chats=True)
    assert Room.objects.get(pk=room.pk).agent_id == agent.pk


def test_closing_a_room_frees_the_slot_for_the_head_of_the_queue(make_user, customers):
    agent = make_user(username="agentx", role="agent", max_chats=1)
    online(agent)
    first = open_room(customers[0])
    second = open_room(customers[1])
    chat_services.room_close(room_id=str(first.pk), actor=agent)
    assert Room.objects.get(pk=second.pk).agent_id == agent.pk
    assert User.objects.get(pk=agent.pk).active_chats == 1


def test_burst_of_200_rooms_against_10_agents(make_user, captured):
    # given 10 online agents with 5 slots each and 200 customers
    agents = [make_user(username=f"agent{n:02d}", role="agent", max_chats=5) for n in range(10)]
    online(*agents)
    customers = [make_user(username=f"burst{n:03d}") for n in range(200)]

    # when all 200 open a room at once from 8 threads
    errors: list[BaseException] = []
    chunks = [customers[i::8] for i in range(8)]

    def create(chunk):
        try:
            for customer in chunk:
                chat_services.room_create(customer=customer, subject="burst")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    # then exactly 50 are active, 150 wait with gap-free positions, nobody is over 5
    rooms = list(Room.objects.all())
    active = [r for r in rooms if r.status == "active"]
    assert len(active) == 50
    assert all(r.agent_id is not None for r in active)
    loads = {a.pk: sum(1 for r in active if r.agent_id == a.pk) for a in agents}
    assert set(loads.values()) == {5}
    assert {a.pk: a.active_chats for a in User.objects.filter(role="agent")} == loads
    queue = services.queue_snapshot()
    assert [row["position"] for row in queue] == list(range(1, 151))
    waiting = [row["room"] for row in queue]
    assert [r.queued_at for r in waiting] == sorted(r.queued_at for r in waiting)

    # when agents close their rooms one by one
    captured.clear()
    order = []
    for room in active[:30]:
        chat_services.room_close(room_id=str(room.pk), actor=User.objects.get(pk=room.agent_id))
        order.append(Room.objects.get(pk=waiting[len(order)].pk))

    # then the queue drains head first and every waiting customer's position counts down
    assert all(r.status == "active" for r in order)
    assert Room.objects.filter(status="queued").count() == 120
    last_room = str(waiting[-1].pk)
    positions = [
        m["data"]["position"]
        for _, m in captured
        if m.get("event") == "queue-updated" and m["data"]["room_id"] == last_room
    ]
    assert positions == list(range(149, 119, -1))
    assert max(a.active_chats for a in User.objects.filter(role="agent")) <= 5


def test_estimate_formula():
    assert services.estimate_wait_seconds(position=1, free_slots=1, rate_per_second=0) == 0
    assert services.estimate_wait_seconds(position=3, free_slots=0, rate_per_second=0) is None
    # 2 assignments a minute: the 4th in line waits about two minutes
    assert services.estimate_wait_seconds(position=4, free_slots=0, rate_per_second=2 / 60) == 120
    assert services.estimate_wait_seconds(position=5, free_slots=1, rate_per_second=0.5) == 8


def test_estimate_follows_the_observed_rate_of_a_simulated_queue(customers, settings):
    # given a queue served at a known rate: 30 assignments in the last 10 minutes
    settings.ROUTING_RATE_WINDOW_SECONDS = 600
    now = timezone.now()
    RoutingAudit.objects.bulk_create(
        [RoutingAudit(action="assigned", at=now - timedelta(seconds=10 * i)) for i in range(30)]
        + [RoutingAudit(action="assigned", at=now - timedelta(hours=2))]  # outside the window
    )
    for customer in customers[:3]:
        open_room(customer)
    # when the queue is read: 0.05 assignments/s, no free slot
    snapshot = services.queue_snapshot()
    # then the n-th in line waits n / 0.05 = 20 n seconds
    assert [row["estimated_wait_seconds"] for row in snapshot] == [20, 40, 60]


def test_no_basis_means_no_estimate(customers):
    open_room(customers[0])
    assert services.queue_snapshot()[0]["estimated_wait_seconds"] is None


def test_transfer_moves_the_room_and_both_slots(make_user, customers, captured):
    first = make_user(username="first", role="agent")
    second = make_user(username="second", role="agent")
    online(first)
    room = open_room(customers[0])
    online(second)

    result = services.room_transfer(
        room_id=str(room.pk), actor=first, to_agent_id=str(second.pk), note="billing question"
    )

    room = Room.objects.get(pk=room.pk)
    assert room.agent_id == second.pk
    assert result["note"] == "billing question"
    assert (
        User.objects.get(pk=first.pk).active_chats,
        User.objects.get(pk=second.pk).active_chats,
    ) == (0, 1)
    groups = [g for g, m in captured if m.get("event") == "room-transferred"]
    assert set(groups) == {f"room.{room.pk}", f"user.{first.pk}", f"user.{second.pk}"}
    assert (f"room.{room.pk}", "room.access") in [(g, m["type"]) for g, m in captured]
    audit = RoutingAudit.objects.get(action="transferred")
    assert (audit.from_agent_id, audit.to_agent_id, audit.note) == (
        first.pk,
        second.pk,
        "billing question",
    )


def test_transfer_to_a_full_or_offline_agent_is_refused(make_user, customers):
    first = make_user(username="first", role="agent")
    full = make_user(username="full", role="agent", max_chats=1, active_chats=1)
    gone = make_user(username="gone", role="agent")
    online(first, full)
    room = open_room(customers[0])
    with pytest.raises(Exception) as no_room:  # noqa: PT011
        services.room_transfer(room_id=str(room.pk), actor=first, to_agent_id=str(full.pk))
    assert no_room.value.code == "no_capacity"
    with pytest.raises(Exception) as away:  # noqa: PT011
        services.room_transfer(room_id=str(room.pk), actor=first, to_agent_id=str(gone.pk))
    assert away.value.code == "agent_unavailable"
    assert Room.objects.get(pk=room.pk).agent_id == first.pk


def test_admin_may_force_a_transfer_past_capacity(make_user, customers, support_admin):
    first = make_user(username="first", role="agent")
    full = make_user(username="full", role="agent", max_chats=1, active_chats=1)
    online(first)
    room = open_room(customers[0])
    services.room_transfer(
        room_id=str(room.pk), actor=support_admin, to_agent_id=str(full.pk), force=True
    )
    assert Room.objects.get(pk=room.pk).agent_id == full.pk
    assert RoutingAudit.objects.filter(action="forced", to_agent=full).count() == 1


def test_concurrent_transfers_of_one_room_one_wins(make_user, customers):
    first = make_user(username="first", role="agent", max_chats=1)
    targets = [make_user(username=f"target{n}", role="agent") for n in range(6)]
    online(first)
    room = open_room(customers[0])
    online(*targets)
    outcomes: list[str] = []

    def transfer(target):
        try:
            services.room_transfer(room_id=str(room.pk), actor=first, to_agent_id=str(target.pk))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # the room moved before this one looked: no access
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=transfer, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert set(outcomes) <= {"ok", "conflict", "not_found", "permission_denied"}
    holder = Room.objects.get(pk=room.pk).agent_id
    loads = {t.pk: User.objects.get(pk=t.pk).active_chats for t in targets}
    assert loads[holder] == 1
    assert sum(loads.values()) == 1


def test_vanished_agent_loses_rooms_to_the_head_of_the_queue(make_user, customers, settings):
    settings.AGENT_GONE_GRACE_SECONDS = 120
    leaver = make_user(username="leaver", role="agent", max_chats=2)
    online(leaver)
    mine = [open_room(customers[0]), open_room(customers[1])]
    waiting = open_room(customers[2])
    assert waiting.status == "queued"
    offline(leaver)

    assert services.agents_gone_sweep() == []  # within the grace period
    moved = services.agents_gone_sweep(now=timezone.now().timestamp() + 121)

    assert len(moved) == 2
    queue = [row["room"].pk for row in services.queue_snapshot()]
    assert queue[-1] == waiting.pk  # the re-routed rooms went ahead of it
    assert set(queue[:2]) == {r.pk for r in mine}
    assert User.objects.get(pk=leaver.pk).active_chats == 0
    # a returning agent does not get them back by itself... but routing may choose them
    helper = make_user(username="helper", role="agent", max_chats=1)
    online(helper)
    services.queue_drain()
    assert Room.objects.get(pk=queue[0]).agent_id == helper.pk


def test_the_gone_sweep_reads_agents_not_every_active_room(make_user, customers, monkeypatch):
    # It runs every ROUTING_HOUSEKEEPING_SECONDS: a count over every active room held the
    # embedded database's writes behind it; agents' counters name who holds chats.
    from tests.mongo_commands import mongo_commands

    busy = make_user(username="busy", role="agent", max_chats=3)
    online(busy)
    open_room(customers[0])
    open_room(customers[1])
    with mongo_commands(monkeypatch) as calls:
        assert services.agents_gone_sweep() == []
    assert [call for call in calls if call[0] == Room._meta.db_table] == []
    assert calls  # the agents were read


def test_a_holder_the_counters_miss_is_swept_when_every_holder_is_counted(
    make_user, customers, settings
):
    # A counter that drifted to zero, or a holder made a customer in the admin: the
    # cheap sweep does not see them, the reconcile-time sweep (every holder) does.
    settings.AGENT_GONE_GRACE_SECONDS = 120
    leaver = make_user(username="drifted", role="agent", max_chats=2)
    online(leaver)
    mine = open_room(customers[0])
    offline(leaver)
    User.objects.filter(pk=leaver.pk).update(active_chats=0, role="user")
    later = timezone.now().timestamp() + 121

    assert services.agents_gone_sweep(every_holder=True) == []  # seen gone: grace starts
    assert services.agents_gone_sweep(now=later) == []  # the counters do not name them
    moved = services.agents_gone_sweep(now=later, every_holder=True)

    assert len(moved) == 1
    assert Room.objects.get(pk=mine.pk).status == "queued"
    assert Room.objects.get(pk=mine.pk).agent_id != leaver.pk


def test_reconcile_repairs_a_corrupted_counter(make_user, customers):
    agent = make_user(username="agentx", role="agent")
    online(agent)
    open_room(customers[0])
    User.objects.filter(pk=agent.pk).update(active_chats=4)  # drift after a crash

    fixes = services.agents_reconcile()

    assert [(a.username, old, new) for a, old, new in fixes] == [("agentx", 4, 1)]
    assert User.objects.get(pk=agent.pk).active_chats == 1
    assert services.agents_reconcile() == []


def test_housekeeping_drains_and_recounts_at_most_once_per_interval(make_user, customers):
    agent = make_user(username="agentx", role="agent", max_chats=2)
    online(agent)
    open_room(customers[0])
    User.objects.filter(pk=agent.pk).update(active_chats=2)  # drifted: looks full
    waiting = open_room(customers[1])
    assert waiting.status == "queued"

    report = services.routing_housekeeping()

    # the recount found the free slot, and the queue moved into it
    assert (report["requeued"], report["reconciled"]) == (0, 1)
    assert Room.objects.get(pk=waiting.pk).agent_id == agent.pk
    User.objects.filter(pk=agent.pk).update(active_chats=5)  # drifted again
    assert services.routing_housekeeping()["reconciled"] == 0  # not before the interval
    assert User.objects.get(pk=agent.pk).active_chats == 5


def test_drained_rooms_are_announced_with_the_stored_room(make_user, customers, captured):
    # given three rooms waiting while nobody is online
    agent = make_user(username="late", role="agent", max_chats=5)
    waiting = [open_room(customer) for customer in customers[:3]]
    assert all(room.status == RoomStatus.QUEUED for room in waiting)

    # when the agent comes online and the queue drains
    online(agent)
    assert services.queue_drain() == 3

    # then each room-assigned payload (built from the room read in the queue, with no
    # re-read) is exactly the stored room, customer and agent included
    announced = {
        m["data"]["room_id"]: m["data"]["room"]
        for group, m in captured
        if group == f"user.{agent.pk}" and m.get("event") == "room-assigned"
    }
    stored = {
        # The agent's view: staff see tags and the SLA flags (issue 30).
        str(r.pk): {
            **dtos.room_dto_one(r),
            "tags": [],
            "sla": {"first_response": None, "resolution": None},
        }
        for r in Room.objects.filter(status="active")
    }
    assert announced == stored
    assert len(announced) == 3


def test_queue_positions_with_equal_queued_at_are_1_to_n_everywhere(
    make_user, customers, captured, api, support_admin
):
    """Issue 18: a room's position counted only rooms with an earlier ``queued_at``, so
    rooms queued in the same millisecond shared a place ([1, 2, 3, 4, 5, 6, 7, 7, 9, 10]
    after a burst). One order, (queued_at, _id), for routing, REST, queue-updated and
    the admin; positions 1..n without repeats."""
    from agents import selectors as agents_selectors
    from chat import selectors as chat_selectors

    rooms = [open_room(c) for c in customers[:6]]
    same = timezone.now().replace(microsecond=0)
    Room.objects.filter(pk__in=[r.pk for r in rooms[1:5]]).update(queued_at=same)
    Room.objects.filter(pk=rooms[0].pk).update(queued_at=same - timedelta(seconds=1))
    Room.objects.filter(pk=rooms[5].pk).update(queued_at=same + timedelta(seconds=1))
    expected = [str(rooms[0].pk), *sorted(str(r.pk) for r in rooms[1:5]), str(rooms[5].pk)]

    # REST: each room's own position (GET /api/chat/rooms/{id} and the create answer).
    detail = {
        str(r.pk): chat_selectors.room_detail(room_id=r.pk, user=support_admin)["queue_position"]
        for r in rooms
    }
    assert sorted(detail.values()) == [1, 2, 3, 4, 5, 6]
    assert sorted(detail, key=detail.get) == expected
    # REST: the queue list; the admin's column.
    listed = agents_selectors.queue_list(viewer=support_admin)
    assert [(row["id"], row["queue_position"]) for row in listed] == [
        (room_id, place) for place, room_id in enumerate(expected, start=1)
    ]
    places = chat_selectors.queue_places()  # the admin's queue column
    assert {str(k): v for k, v in places.items()} == detail
    # queue-updated: the same places.
    services.queue_notify()
    notices = {
        m["data"]["room_id"]: m["data"]["position"]
        for _, m in captured
        if m.get("event") == "queue-updated"
    }
    assert notices == detail
    # Routing takes them in the same order.
    agent = make_user(username="late", role="agent", max_chats=3)
    online(agent)
    services.queue_drain()
    active = {str(r.pk) for r in Room.objects.filter(status="active")}
    assert active == set(expected[:3])
    assert [
        chat_selectors.room_queue_position(Room.objects.get(pk=room_id)) for room_id in expected[3:]
    ] == [1, 2, 3]
