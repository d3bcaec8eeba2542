"""The queues: draining them (one drainer at a time, a Redis lock), positions and wait
estimates, and ``queue-updated`` to the waiting customers.

One FIFO queue per team (issue 15), plus the general queue (no team), which is the only
one when no team is configured. A drain pass walks every open queue at once, oldest
room first across them (``QUEUE_ORDER`` within each): an agent in several teams takes
the room that has waited longest among the queues they serve. A room nobody eligible
fits (its skills) stays, and the rooms behind it go on: it never holds up a room that
another agent can take. A closed team's queue waits for its opening (``agents.services
.teams``); positions and estimates are per queue."""

from __future__ import annotations

import heapq
import logging
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from agents import queries
from agents.directory import Directory, directory
from agents.models import RoutingAction
from agents.services import common
from agents.services.common import (
    DRAIN_LOCK,
    DRAIN_PENDING,
    NEVER,
    QUEUE_POSITIONS,
    redis_client,
)
from agents.services.eligibility import agents_eligible, room_fits, take_best
from chat import dtos, events, render, selectors
from chat.models import Room

logger = logging.getLogger(__name__)

FreeSlots = dict[ObjectId | None, int]
ALL = "all"  # every queue (a team id, or None for the general queue, names one)


def queue_drain(*, team_id: ObjectId | None | str = ALL) -> int:
    """Assign queued rooms, head first, while agents are eligible; then tell waiting
    customers their new places. Returns how many rooms this call assigned. ``team_id``
    (``manage.py route_queue --team``): only that queue (None: the general one)."""
    only = None if team_id == ALL else {team_id}
    client = redis_client()
    client.set(DRAIN_PENDING, 1)
    assigned = 0
    while True:
        token = uuid.uuid4().hex
        if not client.set(DRAIN_LOCK, token, nx=True, px=30_000):
            return assigned  # the holder sees the pending flag and drains again
        try:
            free_slots = None
            while client.delete(DRAIN_PENDING):
                passed, free_slots = _drain_pass(only=only)
                assigned += passed
                only = None  # a pass again is for whoever asked meanwhile: every queue
            queue_notify(free_slots=free_slots)
        finally:
            release_lock(client, DRAIN_LOCK, token)
        if not client.exists(DRAIN_PENDING):
            return assigned


_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


def release_lock(client, key: str, token: str) -> None:
    client.eval(_RELEASE, 1, key, token)


DRAIN_BATCH = 50


def open_queues(teams: Directory, now: datetime) -> list[ObjectId | None]:
    """The queues routing drains now: the general one and every open team's."""
    return [None, *(team_id for team_id in teams.teams if teams.is_open(team_id, now))]


class _Queue:
    """One queue's rooms as the pass walks it, a batch at a time."""

    def __init__(self, team_id: ObjectId | None) -> None:
        self.team_id = team_id
        self.rooms: list[Room] = []
        self.at = 0
        self.more = True  # the last batch was full: there may be more after it

    def fetch(self) -> None:
        last = self.rooms[-1] if self.rooms else None
        after = (last.queued_at, last.pk) if last is not None else None
        self.rooms = selectors.team_queue(self.team_id, after=after, limit=DRAIN_BATCH)
        self.at = 0
        self.more = len(self.rooms) == DRAIN_BATCH

    def head(self) -> Room | None:
        if self.at >= len(self.rooms) and self.more:
            self.fetch()
        return self.rooms[self.at] if self.at < len(self.rooms) else None


def _drain_pass(*, only: set | None = None) -> tuple[int, FreeSlots]:
    """One pass over the open queues: ``(rooms assigned, free slots left per queue)``.
    The agents are read first: with everyone full (a long queue) a pass costs one read,
    not a read of the queues' heads too."""
    teams = directory()
    eligible = agents_eligible()
    if not eligible:
        return 0, {}
    queues = [
        _Queue(team_id)
        for team_id in open_queues(teams, common.routing_now())
        if (only is None or team_id in only) and _served(teams, eligible, team_id)
    ]
    heap: list[tuple[Any, ObjectId, int]] = []

    def push(index: int) -> None:
        room = queues[index].head()
        if room is not None:
            heapq.heappush(heap, (room.queued_at or NEVER, room.pk, index))

    for index in range(len(queues)):
        push(index)
    assigned = 0
    customers: dict[str, User] = {}
    while heap and eligible:
        _at, _pk, index = heapq.heappop(heap)
        queue = queues[index]
        room = queue.rooms[queue.at]
        queue.at += 1
        if not _served(teams, eligible, queue.team_id):
            continue  # everyone who serves this queue is full now: leave it (no push)
        if str(room.customer_id) not in customers:
            # The customers of the batch in one read (each payload names its customer).
            batch = queue.rooms[queue.at - 1 :]
            customers.update(dtos.users_by_id({r.customer_id for r in batch}))
        customer = customers.get(str(room.customer_id))
        known = [customer] if customer is not None else []
        fits = room_fits(room, teams)
        if take_best(eligible, room, reason="queue", actor=None, known=known, fits=fits):
            assigned += 1
        push(index)
    return assigned, free_slots_per_queue(teams, eligible)


def _served(teams: Directory, agents: list[User], team_id: ObjectId | None) -> bool:
    if not teams.configured:
        return bool(agents)
    return any(teams.serves(agent.pk, team_id) for agent in agents)


def free_slots_per_queue(teams: Directory, agents: list[User]) -> FreeSlots:
    """Free slots of the eligible agents who serve each queue (a shared agent's count
    in each of their teams: the estimate of each queue may use them)."""
    free: FreeSlots = {None: sum(max(a.max_chats - a.active_chats, 0) for a in agents)}
    for team_id in teams.teams:
        free[team_id] = sum(
            max(a.max_chats - a.active_chats, 0) for a in agents if teams.serves(a.pk, team_id)
        )
    return free


def assignments_per_second(*, now=None) -> float:
    """The observed service rate of all queues: assignments in the last
    ROUTING_RATE_WINDOW_SECONDS."""
    return sum(assignments_per_second_by_team(now=now).values())


def assignments_per_second_by_team(*, now=None) -> dict[ObjectId | None, float]:
    """The observed service rate per queue. One flat (action, at) aggregate per action,
    each served by the (action, at) index and grouped by the queue's team: the ORM's
    ``action__in`` filter is an ``$and`` that SecantusDB answers by scanning the whole
    audit log, which grows with every assignment."""
    window = settings.ROUTING_RATE_WINDOW_SECONDS
    since = (now or timezone.now()) - timedelta(seconds=window)
    counts: dict[ObjectId | None, int] = {}
    for action in (RoutingAction.ASSIGNED, RoutingAction.FORCED):
        for team_id, n in queries.audits_since_by_team(action=action.value, since=since).items():
            counts[team_id] = counts.get(team_id, 0) + n
    return {team_id: n / window for team_id, n in counts.items()}


def estimate_wait_seconds(*, position: int, free_slots: int, rate_per_second: float) -> int | None:
    """README formula: 0 when a free slot is waiting for this position; otherwise the
    rooms ahead that no free slot covers, divided by the observed service rate; None
    (no basis) when nothing was assigned in the window."""
    if position <= free_slots:
        return 0
    if rate_per_second <= 0:
        return None
    return math.ceil((position - free_slots) / rate_per_second)


def _estimate(*, position: int, free: int, rate: float, until_open: int | None) -> int | None:
    """Per queue: the formula; a closed team's queue waits for its opening first (and
    no slot is free until then). None: no basis (or the team never opens)."""
    if until_open is None:
        return None
    if until_open == 0:
        return estimate_wait_seconds(position=position, free_slots=free, rate_per_second=rate)
    after = estimate_wait_seconds(position=position, free_slots=0, rate_per_second=rate)
    return until_open + (after or 0)


def queue_snapshot(
    *, free_slots: FreeSlots | None = None, team_id: ObjectId | None | str = ALL
) -> list[dict[str, Any]]:
    """The waiting rooms of every queue (or one: ``team_id``), each with its team, its
    position in its own queue and its estimated wait, in ``QUEUE_ORDER`` across queues.
    ``free_slots``: what a drain pass just counted per queue (read here otherwise)."""
    rooms = selectors.queued_rooms()
    if team_id != ALL:
        rooms = [room for room in rooms if room.team_id == team_id]
    if not rooms:
        return []
    teams = directory()
    if free_slots is None:
        free_slots = free_slots_per_queue(teams, agents_eligible())
    rates = assignments_per_second_by_team()
    now = common.routing_now()
    positions: dict[ObjectId | None, int] = {}
    until_open: dict[ObjectId | None, int | None] = {}
    rows = []
    for room in rooms:
        queue = room.team_id
        positions[queue] = position = positions.get(queue, 0) + 1
        if queue not in until_open:
            team = teams.team(queue)
            until_open[queue] = 0 if team is None else team.schedule.seconds_until_open(now)
        team = teams.team(queue)
        rows.append(
            {
                "room": room,
                "team": team.brief() if team is not None else None,
                "position": position,
                "estimated_wait_seconds": _estimate(
                    position=position,
                    free=free_slots.get(queue, free_slots.get(None, 0)),
                    rate=rates.get(queue, 0.0),
                    until_open=until_open[queue],
                ),
            }
        )
    return rows


def queue_notify(*, free_slots: FreeSlots | None = None) -> int:
    """Send ``queue-updated`` to every waiting customer whose place or estimate
    changed since the last notice (the diff is the debounce: one drain that assigns
    ten rooms sends one round). Returns how many notices went out."""
    client = redis_client()
    snapshot = queue_snapshot(free_slots=free_slots)
    sent = {k.decode(): v.decode() for k, v in client.hgetall(QUEUE_POSITIONS).items()}
    current: dict[str, str] = {}
    notices = 0
    for row in snapshot:
        room_id = str(row["room"].pk)
        team = row["team"]
        value = f"{row['position']}:{row['estimated_wait_seconds']}:{team['id'] if team else ''}"
        current[room_id] = value
        if sent.get(room_id) == value:
            continue
        notices += 1
        notice = render.queue_updated(
            room_id=room_id,
            position=row["position"],
            estimated_wait_seconds=row["estimated_wait_seconds"],
            team=team,
        )
        events.user_event(user_id=row["room"].customer_id, rendered=notice)
    pipe = client.pipeline()
    gone = [room_id for room_id in sent if room_id not in current]
    if gone:
        pipe.hdel(QUEUE_POSITIONS, *gone)
    if current:
        pipe.hset(QUEUE_POSITIONS, mapping=current)
    pipe.execute()
    return notices
