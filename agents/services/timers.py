"""Timers on rooms (issue 30): ring-no-answer, SLA thresholds, and the retry of offline
messages' e-mails. One periodic hook runs them in one process at a time (a Redis lock,
``routing_timers_tick``); each sweep starts with one indexed range read, so a tick with
nothing due costs one read per sweep.

Ring-no-answer: an active room whose agent has sent nothing RING_NO_ANSWER_SECONDS (the
team's ``ring_no_answer_seconds`` when set; 0: off) after the assignment goes to the
next eligible agent (never the one who missed: ``skip_agents``) or, with nobody free,
to the head of its queue (``chat.assignment.pass_on_unanswered``: a compare-and-set
that requires no first reply yet, so a reply and the re-route never both win). The
agent is told (``ring-missed``); RING_MISSES_BEFORE_AWAY misses in a row (no first
reply to any room between them) set them away, as the status service does.

SLA: per open room and target (first response while no agent has replied, resolution
while open) the flag moves null -> nearing (SLA_NEARING_FRACTION of the target) ->
breached, one ``sla`` row each (``chat.services.sla``); a breach is also a routing audit
row (``sla_first`` / ``sla_resolve``), which the statistics count."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from accounts import capacity
from accounts import services as account_services
from accounts.models import Status, User
from agents.directory import Directory, TeamInfo, directory
from agents.hours import Schedule
from agents.models import RoutingAction
from agents.services import mail
from agents.services.common import audit, redis_client
from agents.services.eligibility import agents_eligible, best_agent, room_fits
from agents.services.queue import queue_drain, release_lock
from agents.services.transfers import queue_head_time
from chat import assignment, dtos, events, render, timeline
from chat.models import Room, RoomStatus
from chat.services import sla
from chat_project import mongo

logger = logging.getLogger(__name__)

TIMERS_LOCK = "routing:timers:lock"
MISSES = "routing:ring:misses:{agent_id}"


def _setting(value: int | None, default: int) -> int:
    return default if value is None else int(value)


# --- ring-no-answer ------------------------------------------------------------------------


def _ring_seconds(teams: Directory, team_id: ObjectId | None) -> int:
    team = teams.team(team_id)
    own = team.ring_no_answer_seconds if team is not None else None
    return _setting(own, settings.RING_NO_ANSWER_SECONDS)


def _per_team(teams: Directory, own: Callable[[TeamInfo], Any]) -> tuple[list, list]:
    """``(teams with a value of their own, [(team id, value)...])``: the rest use the
    default (and so does a room of a team deleted since)."""
    overriding = [t for t in teams.teams.values() if own(t) is not None]
    return [t.id for t in overriding], [(t.id, own(t)) for t in overriding]


def _ring_due(teams: Directory, now: datetime) -> tuple[dict[str, Any], int]:
    """The ``due`` filter of the ring sweep (each team's rooms past its own bound) and
    the shortest bound (0: ring-no-answer is off everywhere)."""
    ids, own = _per_team(teams, lambda t: t.ring_no_answer_seconds)
    default = settings.RING_NO_ANSWER_SECONDS
    clauses = [
        {"team_id": team_id, "assigned_at": {"$lte": now - timedelta(seconds=bound)}}
        for team_id, bound in own
        if bound > 0
    ]
    if default > 0:
        clauses.append(
            {"team_id": {"$nin": ids}, "assigned_at": {"$lte": now - timedelta(seconds=default)}}
        )
    bounds = [b for _id, b in own if b > 0] + ([default] if default > 0 else [])
    return {"$or": clauses}, min(bounds, default=0)


def rooms_unanswered_reroute(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Re-route every room due for ring-no-answer; the re-routes made."""
    now = now or timezone.now()
    teams = directory()
    due, shortest = _ring_due(teams, now)
    if not shortest:
        return []
    moved = []
    before = now - timedelta(seconds=shortest)
    for room in timeline.unanswered_rooms(assigned_before=before, due=due):
        limit = _ring_seconds(teams, room.team_id)
        if limit <= 0 or room.agent_id is None or room.assigned_at is None:
            continue
        if room.assigned_at > now - timedelta(seconds=limit):
            continue
        payload = room_unanswered_reroute(room=room, teams=teams, limit=limit)
        if payload is not None:
            moved.append(payload)
    return moved


def room_unanswered_reroute(*, room: Room, teams: Directory, limit: int) -> dict[str, Any] | None:
    """Pass ``room`` (as read: active, unanswered) on from its agent; None when it changed
    meanwhile (a reply, a transfer, a close: the compare-and-set decides)."""
    from_agent = User.objects.filter(pk=room.agent_id).first()
    if from_agent is None:
        return None
    fits = room_fits(room, teams)
    eligible = [a for a in agents_eligible() if a.pk != from_agent.pk]
    to_agent = None
    payload = None
    while True:
        to_agent = best_agent(eligible, fits)
        if to_agent is None:
            break
        if not capacity.capacity_reserve(agent=to_agent):
            eligible.remove(to_agent)
            continue
        payload = assignment.pass_on_unanswered(
            room=room, from_agent=from_agent, to_agent=to_agent, queued_at=timezone.now()
        )
        if payload is None:
            capacity.capacity_release(agent_id=to_agent.pk)
            return None
        break
    if to_agent is None:
        gone = room.team_id is not None and teams.team(room.team_id) is None
        payload = assignment.pass_on_unanswered(
            room=room,
            from_agent=from_agent,
            to_agent=None,
            queued_at=queue_head_time(None if gone else room.team_id),
        )
        if payload is None:
            return None
    capacity.capacity_release(agent_id=from_agent.pk)
    audit(
        RoutingAction.RING_MISSED,
        room_id=room.pk,
        from_agent=from_agent,
        to_agent=to_agent,
        reason=f"no answer within {limit} s",
        team_id=room.team_id,
    )
    ring_miss_count(agent=from_agent, room=room, to_agent=to_agent)
    queue_drain()  # a slot is free, and a room may wait at the head
    return payload


def _replied_since(agent_id: ObjectId, since: datetime) -> bool:
    """Whether the agent sent a first reply in any room since ``since`` (the (agent_id,
    status) index's leading field, then the reply time): a reply ends a streak."""
    first = mongo.index_match({"agent_id": agent_id})
    pipeline = [
        {"$match": first},
        {"$match": {"first_agent_reply_at": {"$gt": since}}},
        {"$limit": 1},
        {"$project": {"_id": 1}},
    ]
    return bool(list(timeline.rooms_collection().aggregate(pipeline)))


def ring_miss_count(*, agent: User, room: Room, to_agent: User | None) -> int:
    """Count a miss in the agent's streak (Redis: ``{n, since}``), tell them, and set
    them away at RING_MISSES_BEFORE_AWAY. The streak restarts when they replied to a
    room since its last miss. Returns the streak."""
    client = redis_client()
    key = MISSES.format(agent_id=agent.pk)
    stored = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
    misses = int(stored.get("n", 0))
    since = stored.get("since")
    if misses and since and _replied_since(agent.pk, datetime.fromisoformat(since)):
        misses = 0
    misses += 1
    set_away = misses >= settings.RING_MISSES_BEFORE_AWAY > 0
    if set_away:
        client.delete(key)
    else:
        client.hset(key, mapping={"n": misses, "since": timezone.now().isoformat()})
        client.expire(key, 7 * 24 * 3600)
    if set_away and agent.status == Status.ONLINE:
        account_services.user_set_status(user=agent, status=Status.AWAY)
    brief = dtos.user_brief(to_agent) if to_agent is not None else None
    events.user_event(
        user_id=agent.pk,
        rendered=render.ring_missed(
            room_id=room.pk, misses=misses, set_away=set_away, to_agent=brief
        ),
    )
    return misses


# --- SLA -----------------------------------------------------------------------------------


def _targets(teams: Directory, team_id: ObjectId | None) -> dict[str, int]:
    team = teams.team(team_id)
    return {
        sla.FIRST_RESPONSE: _setting(
            team.first_response_seconds if team else None, settings.SLA_FIRST_RESPONSE_SECONDS
        ),
        sla.RESOLUTION: _setting(
            team.resolution_seconds if team else None, settings.SLA_RESOLUTION_SECONDS
        ),
    }


ALWAYS_OPEN = Schedule()


def sla_state(
    *, created_at: datetime, seconds: int, now: datetime, schedule: Schedule = ALWAYS_OPEN
) -> str | None:
    """Where a room stands against a target of ``seconds`` from ``created_at``: counted
    in ``schedule``'s open hours (always open: the clock's)."""
    if seconds <= 0:
        return None
    elapsed = schedule.open_seconds(created_at, now)
    if elapsed >= seconds:
        return sla.BREACHED
    if elapsed >= seconds * settings.SLA_NEARING_FRACTION:
        return sla.NEARING
    return None


def _sla_schedule(teams: Directory, team_id: object | None) -> Schedule:
    """The clock an SLA of this team's rooms runs on: its open hours, with
    ``SLA_BUSINESS_HOURS``; otherwise (and for the general queue) every hour."""
    team = teams.team(team_id)
    if team is None or not settings.SLA_BUSINESS_HOURS:
        return ALWAYS_OPEN
    return team.schedule


_BREACH_ACTIONS = {
    sla.FIRST_RESPONSE: RoutingAction.SLA_FIRST,
    sla.RESOLUTION: RoutingAction.SLA_RESOLVE,
}


def _owing(targets: dict[str, int], now: datetime) -> list[dict[str, Any]]:
    """Conditions under which a room with these targets owes a row now: per target, no
    flag yet and past the nearing bound, or nearing and past the target."""
    fraction = settings.SLA_NEARING_FRACTION
    parts = []
    for target, seconds in targets.items():
        if seconds <= 0:
            continue
        field = sla.FIELDS[target]
        extra = {"first_agent_reply_at": None} if target == sla.FIRST_RESPONSE else {}
        nearing = now - timedelta(seconds=seconds * fraction)
        breach = now - timedelta(seconds=seconds)
        parts.append({**extra, field: None, "created_at": {"$lte": nearing}})
        parts.append({**extra, field: sla.NEARING, "created_at": {"$lte": breach}})
    return parts


def _own_targets(team: TeamInfo) -> tuple[int | None, int | None] | None:
    """A team's own SLA targets, or None when it uses both defaults."""
    own = (team.first_response_seconds, team.resolution_seconds)
    return None if own == (None, None) else own


def _sla_due(teams: Directory, now: datetime) -> tuple[dict[str, Any], float]:
    """The ``due`` filter of the SLA sweep and the earliest bound in seconds (0: no
    target anywhere)."""
    ids, _own = _per_team(teams, _own_targets)
    clauses = []
    earliest: list[float] = []
    groups = [({"$nin": ids}, _targets(teams, None))]
    groups += [(team_id, _targets(teams, team_id)) for team_id in ids]
    for team_match, targets in groups:
        parts = _owing(targets, now)
        if parts:
            clauses.append({"team_id": team_match, "$or": parts})
            earliest += [s * settings.SLA_NEARING_FRACTION for s in targets.values() if s > 0]
    return {"$or": clauses}, min(earliest, default=0)


def rooms_sla_check(*, now: datetime | None = None) -> int:
    """Flag every open room that reached a new SLA state; how many rows were written."""
    now = now or timezone.now()
    teams = directory()
    due, earliest = _sla_due(teams, now)
    if not earliest:
        return 0
    created_before = now - timedelta(seconds=earliest)
    written = 0
    for status in (RoomStatus.QUEUED.value, RoomStatus.ACTIVE.value):
        for room in timeline.rooms_open_since(
            status=status, created_before=created_before, due=due
        ):
            written += _room_sla(room, teams, now)
    return written


def _room_sla(room: Room, teams: Directory, now: datetime) -> int:
    written = 0
    for target, seconds in _targets(teams, room.team_id).items():
        if target == sla.FIRST_RESPONSE and room.first_agent_reply_at is not None:
            continue
        schedule = _sla_schedule(teams, room.team_id)
        state = sla_state(created_at=room.created_at, seconds=seconds, now=now, schedule=schedule)
        if state is None:
            continue
        due_at = schedule.after_open_seconds(room.created_at, seconds) or now
        row = sla.room_sla_mark(
            room=room, target=target, state=state, due_at=due_at, team_id=room.team_id
        )
        if row is None:
            continue
        written += 1
        setattr(room, sla.FIELDS[target], state)
        room.last_seq = row.seq
        if state == sla.BREACHED:
            audit(
                _BREACH_ACTIONS[target],
                room_id=room.pk,
                to_agent_id=room.agent_id,
                reason=f"due at {due_at:%Y-%m-%d %H:%M:%S}",
                team_id=room.team_id,
            )
    return written


# --- the tick ------------------------------------------------------------------------------


def routing_timers_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Ring-no-answer, SLA flags and unsent offline e-mails, in one process at a time."""
    client = redis_client()
    token = uuid.uuid4().hex
    if not client.set(TIMERS_LOCK, token, nx=True, px=30_000):
        return {}
    try:
        rerouted = rooms_unanswered_reroute(now=now)
        flagged = rooms_sla_check(now=now)
        emailed = mail.offline_messages_retry(now=now)
    finally:
        release_lock(client, TIMERS_LOCK, token)
    return {"rerouted": len(rerouted), "sla_rows": flagged, "emailed": emailed}
