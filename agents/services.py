"""Routing: which agent gets which room, the queue, transfers, and repairs.

The rule (README "Routing"):
- Eligible agent: role agent, active account, ``accepting_chats``, a live presence
  lease (a connected socket), manual status ``online`` (not away/busy/offline), and
  ``active_chats < max_chats``.
- Load is the agent's current active rooms. The lowest ``active_chats / max_chats``
  wins; ties go to the agent whose last assignment is oldest (never assigned counts
  as oldest), then to the lowest id.
- A new room is routed at once; if nobody is eligible it waits in the queue, FIFO by
  ``queued_at`` and then id (``chat.selectors.QUEUE_ORDER``, the one order every reader
  of the queue uses; a re-routed room goes back to the head). The queue drains on every
  event that frees capacity or brings an agent in.

Atomic without transactions: a slot is reserved on the agent with one conditional
update (``accounts.capacity``), the room is claimed with one conditional update
(``chat.assignment``), and a lost claim gives the slot back. Crash between the two:
the counter is one too high until ``agents_reconcile`` (run by ``reconcile_agents``,
by the periodic housekeeping and by ``./run.sh`` at start) recounts it from the rooms.

One drainer at a time (a Redis lock), so the queue leaves in order; a caller that
finds it taken leaves a "drain again" flag that the holder honours before letting go.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.utils import timezone
from django_redis import get_redis_connection

from accounts import capacity, presence
from accounts.models import Role, Status, User
from agents import queries
from agents.exceptions import AgentUnavailable, NoCapacity
from agents.models import RoutingAction, RoutingAudit
from chat import assignment, dtos, events, selectors
from chat.models import Room, RoomStatus
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

DRAIN_LOCK = "routing:drain:lock"
DRAIN_PENDING = "routing:drain:pending"
HOUSEKEEPING_LOCK = "routing:housekeeping:lock"
RECONCILE_DUE = "routing:reconcile:recent"
QUEUE_POSITIONS = "routing:queue:positions"
GONE_AT = "routing:agent-gone:{agent_id}"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _redis():
    return get_redis_connection("default")


def _audit(action: str, **fields: Any) -> None:
    RoutingAudit.objects.create(action=action, **fields)


# --- who may take a room ----------------------------------------------------------------------


def agent_rank(agent: User) -> tuple:
    """Sort key of the routing rule: load ratio, then oldest last assignment, then id."""
    return (
        agent.active_chats / max(agent.max_chats, 1),
        agent.last_assigned_at or _NEVER,
        str(agent.pk),
    )


def _is_available(agent: User, online_ids: set[str]) -> bool:
    return (
        agent.is_agent
        and agent.is_active
        and agent.accepting_chats
        and agent.status == Status.ONLINE
        and str(agent.pk) in online_ids
    )


def agents_eligible(*, online_ids: set[str] | None = None) -> list[User]:
    """Eligible agents, best first."""
    online_ids = presence.online_user_ids() if online_ids is None else online_ids
    agents = queries.accepting_agents()
    eligible = [a for a in agents if _is_available(a, online_ids) and a.active_chats < a.max_chats]
    return sorted(eligible, key=agent_rank)


def _take_best(
    eligible: list[User],
    room: Room,
    *,
    reason: str,
    actor: User | None,
    known: Iterable[User] = (),
):
    """Reserve a slot on the best agent that still has one and claim the room (as
    read while queued) for it. Returns the assignment, or None if the room is no
    longer queued; ``eligible`` is kept in rank order with the loads as they now are.
    ``known``: users in hand (the room's customer) for the payload."""
    room_id = room.pk
    while eligible:
        agent = eligible[0]
        if not capacity.capacity_reserve(agent=agent):
            eligible.pop(0)  # full or switched off since we read it
            continue
        payload = assignment.room_assign(
            room_id=room_id, agent=agent, reason=reason, actor=actor, queued=room, known=known
        )
        if payload is None:
            capacity.capacity_release(agent_id=agent.pk)
            return None
        _audit(
            RoutingAction.ASSIGNED,
            room_id=ObjectId(str(room_id)),
            actor=actor,
            to_agent=agent,
            reason=reason,
        )
        agent.active_chats += 1
        agent.last_assigned_at = timezone.now()
        if agent.active_chats >= agent.max_chats:
            eligible.pop(0)
        eligible.sort(key=agent_rank)
        return payload
    return None


# --- the queue --------------------------------------------------------------------------------


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


# --- manual assignment and transfer -----------------------------------------------------------


def _agent_by_id(agent_id: object) -> User:
    try:
        oid = ObjectId(str(agent_id))
    except Exception:
        raise NotFound("No such agent.") from None
    agent = User.objects.filter(pk=oid, role=Role.AGENT, is_active=True).first()
    if agent is None:
        raise NotFound("No such agent.")
    return agent


def room_assign_agent(
    *, room_id: object, actor: User, agent_id: object | None = None, force: bool = False
) -> dict[str, Any]:
    """``POST /api/chat/assign-agent``. Without ``agent_id``: route this room now to
    the best eligible agent. With it: an admin assigns any agent (``force`` passes the
    agent's cap and switch, recorded as forced); an agent may take a queued room for
    themselves within their capacity."""
    if not (actor.is_admin or actor.is_agent):
        raise PermissionDenied("Only agents and admins assign rooms.")
    room = selectors.room_by_id(room_id)
    # A waiting room is open to every agent (the queue lists it); any other room only
    # to whoever may see it: for the rest it does not exist, as on every other path
    # (issue 18: its status leaked through the 409's details).
    if room is None or not (room.status == RoomStatus.QUEUED or selectors.can_see(room, actor)):
        raise NotFound("No such room.")
    if room.status != RoomStatus.QUEUED:
        raise Conflict("The room is not waiting in the queue.", details={"status": room.status})
    if agent_id is None:
        eligible = agents_eligible()
        payload = _take_best(eligible, room, reason="manual route", actor=actor)
        if payload is None:
            if not eligible:
                raise AgentUnavailable("No agent is available; the room stays queued.")
            raise Conflict("The room was taken meanwhile.")
        queue_notify()
        return payload
    agent = _agent_by_id(agent_id)
    if actor.is_agent and agent.pk != actor.pk:
        raise PermissionDenied("Agents may only take rooms for themselves.")
    force = force and actor.is_admin
    if not force and not _is_available(agent, presence.online_user_ids()):
        raise AgentUnavailable()
    if not capacity.capacity_reserve(agent=agent, force=force):
        raise NoCapacity()
    payload = assignment.room_assign(
        room_id=room.pk, agent=agent, reason="forced" if force else "manual", actor=actor
    )
    if payload is None:
        capacity.capacity_release(agent_id=agent.pk)
        raise Conflict("The room was taken meanwhile.")
    action = RoutingAction.FORCED if force else RoutingAction.ASSIGNED
    _audit(action, room_id=room.pk, actor=actor, to_agent=agent, reason="manual")
    queue_notify()
    return payload


def room_transfer(
    *, room_id: object, actor: User, to_agent_id: object, note: str = "", force: bool = False
) -> dict[str, Any]:
    """``POST /api/chat/transfer``: the assigned agent or an admin moves an active room
    to another agent, who must be eligible with a free slot (an admin may ``force``
    past both, recorded as such). Concurrent transfers of one room: one wins, the
    others get ``conflict``."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    if not (actor.is_admin or (actor.is_agent and room.agent_id == actor.pk)):
        raise PermissionDenied("Only the assigned agent or an admin transfers a room.")
    if not isinstance(note, str) or len(note) > 1000:
        raise ValidationFailed(details={"fields": {"note": ["At most 1000 characters."]}})
    if room.status != RoomStatus.ACTIVE or room.agent_id is None:
        raise Conflict("Only an active room with an agent can be transferred.")
    to_agent = _agent_by_id(to_agent_id)
    if to_agent.pk == room.agent_id:
        raise ValidationFailed("The room is already with that agent.")
    force = force and actor.is_admin
    if not force and not _is_available(to_agent, presence.online_user_ids()):
        raise AgentUnavailable()
    if not capacity.capacity_reserve(agent=to_agent, force=force):
        raise NoCapacity()
    from_agent = User.objects.get(pk=room.agent_id)
    payload = assignment.room_transfer(
        room=room,
        from_agent=from_agent,
        to_agent=to_agent,
        actor=actor,
        note=note,
        forced=force,
    )
    if payload is None:
        capacity.capacity_release(agent_id=to_agent.pk)
        raise Conflict("The room changed hands meanwhile; reload it.")
    capacity.capacity_release(agent_id=from_agent.pk)
    _audit(
        RoutingAction.FORCED if force else RoutingAction.TRANSFERRED,
        room_id=room.pk,
        actor=actor,
        from_agent=from_agent,
        to_agent=to_agent,
        reason="transfer",
        note=note,
    )
    queue_drain()  # the old agent has a free slot
    return payload


def room_requeue(*, room_id: object, actor: User | None, reason: str) -> dict[str, Any] | None:
    """Take an active room from its agent and put it at the head of the queue, then
    route it again at once (never back to the same agent by this call)."""
    room = selectors.room_by_id(room_id)
    if room is None:
        raise NotFound("No such room.")
    if room.status != RoomStatus.ACTIVE or room.agent_id is None:
        raise Conflict("Only an active room can go back to the queue.")
    from_agent = User.objects.get(pk=room.agent_id)
    payload = assignment.room_requeue(
        room=room,
        from_agent=from_agent,
        queued_at=_queue_head_time(),
        reason=reason,
        actor=actor,
    )
    if payload is None:
        return None
    capacity.capacity_release(agent_id=from_agent.pk)
    _audit(
        RoutingAction.REQUEUED, room_id=room.pk, actor=actor, from_agent=from_agent, reason=reason
    )
    queue_drain()
    return payload


def _queue_head_time():
    """A ``queued_at`` ahead of every waiting room."""
    head = selectors.queued_rooms(limit=1)
    now = timezone.now()
    if head and head[0].queued_at and head[0].queued_at <= now:
        return head[0].queued_at - timedelta(milliseconds=1)
    return now - timedelta(milliseconds=1)


# --- repairs ----------------------------------------------------------------------------------


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
            _audit(
                RoutingAction.RECONCILED,
                to_agent=agent,
                reason=f"active_chats {agent.active_chats} -> {actual}",
            )
    if fixes:
        queue_drain()
    return fixes


def agents_gone_sweep(*, now: float | None = None) -> list[dict[str, Any]]:
    """Agents whose presence has been gone longer than AGENT_GONE_GRACE_SECONDS lose
    their active rooms to the head of the queue; the rooms are routed again at once.
    A returning agent does not get them back."""
    now = time.time() if now is None else now
    client = _redis()
    online = presence.online_user_ids()
    moved = []
    for agent_id in selectors.active_room_counts():
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
    client = _redis()
    token = uuid.uuid4().hex
    if not client.set(HOUSEKEEPING_LOCK, token, nx=True, px=30_000):
        return {}
    try:
        moved = agents_gone_sweep()
        # The recount reads every active room: only every ROUTING_RECONCILE_SECONDS.
        due = client.set(RECONCILE_DUE, 1, nx=True, ex=settings.ROUTING_RECONCILE_SECONDS)
        fixed = agents_reconcile() if due else []
        drained = queue_drain()
    finally:
        _release_lock(client, HOUSEKEEPING_LOCK, token)
    return {"requeued": len(moved), "reconciled": len(fixed), "assigned": drained}


def room_closed_release(*, agent_id: object | None) -> None:
    """A room closed: its agent's slot is free again; the queue moves."""
    if agent_id is not None:
        capacity.capacity_release(agent_id=agent_id)
    queue_drain()
