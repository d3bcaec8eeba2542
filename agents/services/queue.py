"""The queue: draining it (one drainer at a time, a Redis lock), positions and wait
estimates, and ``queue-updated`` to the waiting customers."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from agents import queries
from agents.models import RoutingAction
from agents.services.common import DRAIN_LOCK, DRAIN_PENDING, QUEUE_POSITIONS, _redis
from agents.services.eligibility import _take_best, agents_eligible
from chat import dtos, events, selectors

logger = logging.getLogger(__name__)


def queue_drain() -> int:
    """Assign queued rooms, head first, while agents are eligible; then tell waiting
    customers their new places. Returns how many rooms this call assigned."""
    client = _redis()
    client.set(DRAIN_PENDING, 1)
    assigned = 0
    while True:
        token = uuid.uuid4().hex
        if not client.set(DRAIN_LOCK, token, nx=True, px=30_000):
            return assigned  # the holder sees the pending flag and drains again
        try:
            free_slots = None
            while client.delete(DRAIN_PENDING):
                passed, free_slots = _drain_pass()
                assigned += passed
            queue_notify(free_slots=free_slots)
        finally:
            _release_lock(client, DRAIN_LOCK, token)
        if not client.exists(DRAIN_PENDING):
            return assigned


_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


def _release_lock(client, key: str, token: str) -> None:
    client.eval(_RELEASE, 1, key, token)


DRAIN_BATCH = 50


def _drain_pass() -> tuple[int, int]:
    """One pass over the queue: ``(rooms assigned, free slots left on eligible
    agents)``. The agents are read first: with everyone full (a long queue) a pass
    costs one read, not a read of the queue's head too."""
    assigned = 0
    while True:
        eligible = agents_eligible()
        if not eligible:
            return assigned, 0
        rooms = selectors.queued_rooms(limit=DRAIN_BATCH)
        # The users of a batch in one read (each payload names the room's customer).
        customers = dtos.users_by_id({room.customer_id for room in rooms})
        for room in rooms:
            customer = customers.get(str(room.customer_id))
            known = [customer] if customer is not None else []
            if _take_best(eligible, room, reason="queue", actor=None, known=known) is not None:
                assigned += 1
            if not eligible:
                return assigned, 0
        if len(rooms) < DRAIN_BATCH:  # the whole queue was seen; newcomers set the flag
            return assigned, _free_slots(eligible)


def _free_slots(agents: list[User]) -> int:
    return sum(max(a.max_chats - a.active_chats, 0) for a in agents)


def assignments_per_second(*, now=None) -> float:
    """The observed service rate: assignments in the last ROUTING_RATE_WINDOW_SECONDS.
    One flat (action, at) count per action, each served by the (action, at) index: the
    ORM's ``action__in`` filter is an ``$and`` that SecantusDB answers by scanning the
    whole audit log, which grows with every assignment."""
    window = settings.ROUTING_RATE_WINDOW_SECONDS
    since = (now or timezone.now()) - timedelta(seconds=window)
    count = sum(
        queries.audits_since(action=action.value, since=since)
        for action in (RoutingAction.ASSIGNED, RoutingAction.FORCED)
    )
    return count / window


def estimate_wait_seconds(*, position: int, free_slots: int, rate_per_second: float) -> int | None:
    """README formula: 0 when a free slot is waiting for this position; otherwise the
    rooms ahead that no free slot covers, divided by the observed service rate; None
    (no basis) when nothing was assigned in the window."""
    if position <= free_slots:
        return 0
    if rate_per_second <= 0:
        return None
    return math.ceil((position - free_slots) / rate_per_second)


def queue_snapshot(*, free_slots: int | None = None) -> list[dict[str, Any]]:
    """The waiting rooms in order with position and estimated wait. ``free_slots``:
    what a drain pass just counted on the eligible agents (read here otherwise)."""
    rooms = selectors.queued_rooms()
    if not rooms:
        return []
    free = _free_slots(agents_eligible()) if free_slots is None else free_slots
    rate = assignments_per_second()
    return [
        {
            "room": room,
            "position": position,
            "estimated_wait_seconds": estimate_wait_seconds(
                position=position, free_slots=free, rate_per_second=rate
            ),
        }
        for position, room in enumerate(rooms, start=1)
    ]


def queue_notify(*, free_slots: int | None = None) -> int:
    """Send ``queue-updated`` to every waiting customer whose place or estimate
    changed since the last notice (the diff is the debounce: one drain that assigns
    ten rooms sends one round). Returns how many notices went out."""
    client = _redis()
    snapshot = queue_snapshot(free_slots=free_slots)
    sent = {k.decode(): v.decode() for k, v in client.hgetall(QUEUE_POSITIONS).items()}
    current: dict[str, str] = {}
    notices = 0
    for row in snapshot:
        room_id = str(row["room"].pk)
        value = f"{row['position']}:{row['estimated_wait_seconds']}"
        current[room_id] = value
        if sent.get(room_id) == value:
            continue
        notices += 1
        events.user_event(
            user_id=row["room"].customer_id,
            event="queue-updated",
            data={
                "room_id": room_id,
                "position": row["position"],
                "estimated_wait_seconds": row["estimated_wait_seconds"],
            },
        )
    pipe = client.pipeline()
    gone = [room_id for room_id in sent if room_id not in current]
    if gone:
        pipe.hdel(QUEUE_POSITIONS, *gone)
    if current:
        pipe.hset(QUEUE_POSITIONS, mapping=current)
    pipe.execute()
    return notices
