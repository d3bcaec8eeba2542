"""Who may take a room, who is best (README "Routing": the rule), and taking a room
for the best agent that still has a slot."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bson import ObjectId
from django.utils import timezone

from accounts import capacity, presence
from accounts.models import Status, User
from agents import queries
from agents.models import RoutingAction
from agents.services.common import _NEVER, _audit
from chat import assignment
from chat.models import Room

logger = logging.getLogger(__name__)


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
        payload = assignment.claim(
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
