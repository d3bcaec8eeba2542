"""Repairs: recounting loads, re-routing the rooms of agents who vanished, the
periodic safety net, a freed slot."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings

from accounts import capacity, presence
from accounts.models import Role, User
from agents.models import RoutingAction
from agents.services.common import GONE_AT, HOUSEKEEPING_LOCK, RECONCILE_DUE, audit, redis_client
from agents.services.queue import queue_drain, release_lock
from agents.services.transfers import room_requeue
from chat import selectors

logger = logging.getLogger(__name__)


def agents_reconcile() -> list[tuple[User, int, int]]:
    """Recount every agent's ``active_chats`` from the rooms and fix drift. A count is
    only changed when two reads a moment apart agree, so an assignment in flight
    (slot reserved, room not yet claimed) is not mistaken for drift."""
    first = selectors.active_room_counts()
    agents = {a.pk: a.active_chats for a in User.objects.filter(role=Role.AGENT)}
    time.sleep(0.2)
    second = selectors.active_room_counts()
    fixes = []
    for agent in User.objects.filter(role=Role.AGENT):
        actual = second.get(agent.pk, 0)
        if agent.active_chats == actual:
            continue
        if first.get(agent.pk, 0) != actual or agents.get(agent.pk) != agent.active_chats:
            continue  # moving: look again next time
        if capacity.capacity_set(agent_id=agent.pk, active_chats=actual):
            fixes.append((agent, agent.active_chats, actual))
            audit(
                RoutingAction.RECONCILED,
                to_agent=agent,
                reason=f"active_chats {agent.active_chats} -> {actual}",
            )
    if fixes:
        queue_drain()
    return fixes


def agents_gone_sweep(
    *, now: float | None = None, every_holder: bool = False
) -> list[dict[str, Any]]:
    """Agents whose presence has been gone longer than AGENT_GONE_GRACE_SECONDS lose
    their active rooms to the head of the queue; the rooms are routed again at once.
    A returning agent does not get them back.

    The agents looked at are those whose ``active_chats`` counter is above zero: this
    runs every ROUTING_HOUSEKEEPING_SECONDS, and on the embedded database a count of
    every active room per agent held every write behind it for 100 ms and more with a
    few thousand rooms (docs/benchmarks.md). ``every_holder`` looks at whoever holds an
    active room by that count instead: the housekeeping asks for it when the reconcile
    is due (every ROUTING_RECONCILE_SECONDS), which catches a counter that drifted to
    zero and a holder who is no longer an agent."""
    now = time.time() if now is None else now
    client = redis_client()
    online = presence.online_user_ids()
    moved = []
    holders = selectors.active_room_counts() if every_holder else capacity.agents_holding_chats()
    for agent_id in holders:
        key = GONE_AT.format(agent_id=agent_id)
        if str(agent_id) in online:
            client.delete(key)
            continue
        client.set(key, now, nx=True, ex=24 * 3600)
        gone_since = float(client.get(key) or now)
        if now - gone_since < settings.AGENT_GONE_GRACE_SECONDS:
            continue
        for room in selectors.active_rooms_of(agent_id):
            payload = room_requeue(room_id=room.pk, actor=None, reason="agent went offline")
            if payload is not None:
                moved.append(payload)
        client.delete(key)
    return moved


def routing_housekeeping() -> dict[str, int]:
    """The periodic safety net (one process at a time): re-route rooms of vanished
    agents, repair counters, drain the queue. Correctness does not depend on it."""
    client = redis_client()
    token = uuid.uuid4().hex
    if not client.set(HOUSEKEEPING_LOCK, token, nx=True, px=30_000):
        return {}
    try:
        # Counting every active room: only every ROUTING_RECONCILE_SECONDS.
        due = bool(client.set(RECONCILE_DUE, 1, nx=True, ex=settings.ROUTING_RECONCILE_SECONDS))
        moved = agents_gone_sweep(every_holder=due)
        fixed = agents_reconcile() if due else []
        drained = queue_drain()
    finally:
        release_lock(client, HOUSEKEEPING_LOCK, token)
    return {"requeued": len(moved), "reconciled": len(fixed), "assigned": drained}


def room_closed_release(*, agent_id: object | None) -> None:
    """A room closed: its agent's slot is free again; the queue moves."""
    if agent_id is not None:
        capacity.capacity_release(agent_id=agent_id)
    queue_drain()
