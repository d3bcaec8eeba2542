"""Who may take a room, who is best (README "Routing": the rule), and taking a room
for the best agent that still has a slot.

Teams and skills (issue 15) narrow the eligible agents per room: a member of the room's
team (any agent for the general queue) holding every skill it needs
(``agents.directory``). The choice among them is the rule of before. A pass keeps ONE
list of eligible agents for every queue, so an agent in several teams is one set of
slots: a shared agent's capacity counts across teams."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bson import ObjectId
from django.utils import timezone

from accounts import capacity, presence
from accounts.models import Status, User
from agents import queries
from agents.directory import Directory
from agents.models import RoutingAction
from agents.services.common import NEVER, audit
from chat import assignment
from chat.models import Room

logger = logging.getLogger(__name__)


def agent_rank(agent: User) -> tuple:
    """Sort key of the routing rule: load ratio, then oldest last assignment, then id."""
    return (
        agent.active_chats / max(agent.max_chats, 1),
        agent.last_assigned_at or NEVER,
        str(agent.pk),
    )


def is_available(agent: User, online_ids: set[str]) -> bool:
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
    eligible = [a for a in agents if is_available(a, online_ids) and a.active_chats < a.max_chats]
    return sorted(eligible, key=agent_rank)


def agent_fits(
    agent: User, room: Room, *, directory: Directory, online_ids: set[str] | None = None
) -> bool:
    """The whole rule for one agent and one room: available (``online_ids``: presence,
    read here when not given), a free slot, a member of the room's team, every skill."""
    online_ids = presence.online_user_ids() if online_ids is None else online_ids
    return (
        is_available(agent, online_ids)
        and agent.active_chats < agent.max_chats
        and directory.fits(agent.pk, team_id=room.team_id, needs=room.required_skills or ())
    )


def room_fits(room: Room, directory: Directory | None) -> Callable[[User], bool] | None:
    """The team-and-skills test for ``room``, without the agents an admin removed from it
    (None: every agent fits, the rule of before teams, which costs nothing per agent)."""
    skipped = frozenset(room.skip_agents or ())
    fits = None
    if directory is not None and (directory.configured or room.required_skills):
        needs = room.required_skills or ()
        fits = lambda agent: directory.fits(agent.pk, team_id=room.team_id, needs=needs)  # noqa: E731
    if not skipped:
        return fits
    if fits is None:
        return lambda agent: str(agent.pk) not in skipped
    return lambda agent: str(agent.pk) not in skipped and fits(agent)


def best_agent(eligible: list[User], fits: Callable[[User], bool] | None) -> User | None:
    if fits is None:
        return eligible[0] if eligible else None
    return next((agent for agent in eligible if fits(agent)), None)


def take_best(
    eligible: list[User],
    room: Room,
    *,
    reason: str,
    actor: User | None,
    known: Iterable[User] = (),
    fits: Callable[[User], bool] | None = None,
):
    """Reserve a slot on the best agent that still has one (and, with ``fits``, fits
    the room: its team and skills) and claim the room (as read while queued) for it.
    Returns the assignment, or None if the room is no longer queued or nobody fits;
    ``eligible`` is kept in rank order with the loads as they now are, without the
    agents who are full. ``known``: users in hand (the room's customer) for the
    payload."""
    room_id = room.pk
    while eligible:
        agent = best_agent(eligible, fits)
        if agent is None:
            return None
        if not capacity.capacity_reserve(agent=agent):
            eligible.remove(agent)  # full or switched off since we read it
            continue
        payload = assignment.claim(
            room_id=room_id, agent=agent, reason=reason, actor=actor, queued=room, known=known
        )
        if payload is None:
            capacity.capacity_release(agent_id=agent.pk)
            return None
        audit(
            RoutingAction.ASSIGNED,
            room_id=ObjectId(str(room_id)),
            actor=actor,
            to_agent=agent,
            reason=reason,
            team_id=room.team_id,
        )
        agent.active_chats += 1
        agent.last_assigned_at = timezone.now()
        if agent.active_chats >= agent.max_chats:
            eligible.remove(agent)
        eligible.sort(key=agent_rank)
        return payload
    return None
