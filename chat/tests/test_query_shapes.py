"""Every hot read starts with a first ``$match`` (or ``find`` filter) that an index of its
collection serves in the shape the embedded server needs (``chat_project.mongo``: flat,
equalities then at most one other condition). Checked against the collections' real
indexes, beside the command-count tests (``test_write_path.py``)."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from pymongo.synchronous.collection import Collection

from accounts import capacity
from accounts.selectors import users_holding_name_keys
from agents import queries as agent_queries
from chat import selectors, services, timeline, writer
from chat.tests.factories import room_open, room_with_agent, send
from chat_project import mongo

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def first_stages(monkeypatch):
    seen: list[tuple[Collection, dict]] = []

    def on(method: str, first_of):
        original = getattr(Collection, method)

        def wrapper(self, *args, **kwargs):
            seen.append((self, first_of(*args, **kwargs)))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Collection, method, wrapper)

    on("aggregate", lambda pipeline, *a, **k: pipeline[0].get("$match", {}) if pipeline else {})
    on("find", lambda filter=None, *a, **k: filter or {})
    on("find_one", lambda filter=None, *a, **k: filter or {})
    on("count_documents", lambda filter, *a, **k: filter)
    yield seen


def not_served(seen: list[tuple[Collection, dict]]) -> list[str]:
    problems = []
    for collection, match in seen:
        indexes = [
            [field for field, _ in spec["key"]] for spec in collection.index_information().values()
        ]
        if not any(mongo.served_by(match, index) for index in indexes):
            problems.append(f"{collection.name}: {match} (indexes: {indexes})")
    return problems


def test_a_customers_reads_are_index_shaped(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    for n in range(5):
        send(room, customer if n % 2 else agent, f"order refund {n}")
    rid = str(room.pk)
    with first_stages(monkeypatch) as seen:
        selectors.room_list(user=customer)
        selectors.room_list(user=customer, status="active")
        selectors.room_detail(room_id=rid, user=customer)
        selectors.room_history_page(room_id=rid, user=customer)
        selectors.room_history_page(room_id=rid, user=customer, before_seq=3)
        selectors.room_history_page(room_id=rid, user=customer, after_seq=1)
        selectors.room_events_after(room_id=rid, user=customer, after_seq=2)
        selectors.message_search(room_id=rid, user=customer, q="refund")
        selectors.unread_counts(user=customer)
    assert seen
    assert not_served(seen) == []


def test_an_agents_and_an_admins_reads_are_index_shaped(
    monkeypatch, customer, agent, support_admin
):
    room = room_with_agent(customer, agent)
    send(room, customer)
    with first_stages(monkeypatch) as seen:
        selectors.room_list(user=agent, assigned_only=True)
        selectors.room_list(user=support_admin, status="queued")
        selectors.room_ids_for_user(user=agent)
        selectors.unread_counts(user=agent)
        selectors.active_room_counts()
        selectors.rooms_first_assigned([room.pk])
    assert not_served(seen) == []


def test_the_queue_reads_are_index_shaped(monkeypatch, make_user):
    rooms = [room_open(make_user(username=f"q{n}", role="user")) for n in range(3)]
    with first_stages(monkeypatch) as seen:
        selectors.queued_rooms()
        selectors.queue_places()
        selectors.queue_rooms_ahead(rooms[1])
        agent_queries.accepting_agents()
        capacity.agents_holding_chats()  # routing's housekeeping, every 10 s
    assert not_served(seen) == []


def test_the_write_paths_reads_are_index_shaped(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer, "once", client_msg_id="c-1")
    writer.timeline_writer().rooms.clear()
    with first_stages(monkeypatch) as seen:
        send(room, agent, "first of this process")  # the writer reads the room
        send(room, customer, "once", client_msg_id="c-1")  # a retry: found by its key
        timeline.message_by_idem_key(f"{room.pk}:{customer.pk}:c-1")
        users_holding_name_keys(["alice"])
    assert seen
    assert not_served(seen) == []


def test_the_first_stages_are_the_ones_the_indexes_were_made_for(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    send(room, customer)
    with first_stages(monkeypatch) as seen:
        selectors.room_history_page(room_id=str(room.pk), user=customer, before_seq=2)
    history = [match for collection, match in seen if collection.name == "chat_roomevent"]
    assert list(history[0]) == ["room_id", "seq"]


def test_the_shape_check_fails_a_scan():
    # ORM-style filters that the embedded server answers with a collection scan.
    assert not mongo.served_by({"$and": [{"room_id": 1}, {"seq": 2}]}, ["room_id", "seq"])
    assert not mongo.served_by({"seq": {"$gt": 1}, "kind": "message"}, ["room_id", "seq"])
    assert not mongo.served_by({"room_id": {"$in": [1]}, "seq": 2}, ["room_id", "seq"])
    assert mongo.served_by({"seq": {"$gt": 1}, "room_id": 1}, ["room_id", "seq"])
    with pytest.raises(ValueError, match="not an equality"):
        mongo.index_match({"room_id": {"$ne": 1}})


def test_a_services_own_lookup_stays_shaped(monkeypatch, customer, agent):
    room = room_with_agent(customer, agent)
    message = send(room, customer, "draft", client_msg_id=uuid.uuid4().hex)
    with first_stages(monkeypatch) as seen:
        services.message_edit(
            room_id=str(room.pk), message_id=message["id"], actor=customer, text="final"
        )
    assert not_served(seen) == []


def test_rooms_by_tag_and_notes_are_index_shaped(monkeypatch, customer, agent, support_admin):
    room = room_with_agent(customer, agent)
    services.room_tag(room_id=str(room.pk), actor=agent, tag="vip")
    services.note_add(room_id=str(room.pk), author=agent, text="private")
    with first_stages(monkeypatch) as seen:
        selectors.room_list(user=agent, tag="vip")
        selectors.room_list(user=agent, tag="vip", status="active", assigned_only=True)
        selectors.room_list(user=support_admin, tag="vip", status="closed")
        selectors.note_list(room_id=str(room.pk), user=agent)
        selectors.tags_in_use()
        selectors.room_ids_with_tag("vip")
    rooms = [match for collection, match in seen if collection.name == "chat_room"]
    assert {"tags": "vip", "agent_id": agent.pk} in rooms
    assert {"tags": "vip"} in rooms


def test_the_team_queue_reads_are_index_shaped(monkeypatch, make_user):
    """Issue 15: one queue per team, the team a leading equality of the (status, team_id,
    queued_at) index: a queue's head and its next page, a room's place, the rooms due to
    overflow, the per-team rates; and a whole drain pass and snapshot with teams."""
    from django.utils import timezone

    from agents import services as routing

    agent = make_user(username="a0", role="agent", accepting_chats=False)
    team, _ = routing.team_create(name="Billing", members=[agent.username])
    rooms = [
        room_open(make_user(username=f"q{n}", role="user"), team_id=str(team.pk)) for n in range(3)
    ]
    general = room_open(make_user(username="g0", role="user"))
    with first_stages(monkeypatch) as seen:
        selectors.team_queue(team.pk, limit=2)
        selectors.team_queue(team.pk, after=(rooms[0].queued_at, rooms[0].pk), limit=2)
        selectors.team_queue(None)
        selectors.queue_rooms_ahead(rooms[1])
        selectors.queue_rooms_ahead(general)
        selectors.queue_waiting_since(team.pk, cutoff=timezone.now())
        routing.assignments_per_second_by_team()
        routing.queue_drain()
        routing.queue_snapshot()
    firsts = [match for collection, match in seen if collection.name == "chat_room"]
    assert {"status": "queued", "team_id": team.pk} in firsts
    assert not_served(seen) == []


def test_the_timers_sweeps_are_index_shaped(monkeypatch, customer, agent, settings):
    """Issue 30: the periodic tick's reads (ring-no-answer, SLA, offline e-mail retry),
    each one range on its index, the per-team conditions after it."""
    from datetime import timedelta

    from django.utils import timezone

    from agents import services as routing

    settings.SLA_FIRST_RESPONSE_SECONDS = 60
    settings.SLA_RESOLUTION_SECONDS = 600
    room_with_agent(customer, agent)
    with first_stages(monkeypatch) as seen:
        routing.routing_timers_tick(now=timezone.now() + timedelta(seconds=30))
    assert len(seen) >= 4
    assert not_served(seen) == []
