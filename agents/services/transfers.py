"""Manual assignment, transfer to an agent or to a team, and back to the queue."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bson import ObjectId
from django.utils import timezone

from accounts import capacity, presence
from accounts.models import Role, User
from agents.directory import TeamInfo, directory
from agents.exceptions import AgentUnavailable, NoCapacity
from agents.models import RoutingAction
from agents.services import common
from agents.services.common import audit
from agents.services.eligibility import (
    agents_eligible,
    best_agent,
    is_available,
    room_fits,
    take_best,
)
from agents.services.queue import queue_drain, queue_notify
from chat import assignment, dtos, selectors
from chat.models import Room, RoomStatus
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)


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
    teams = directory()
    if agent_id is None:
        # Route now: the best agent who fits the room (its team and skills), whatever
        # the team's hours (someone decided it should go now).
        eligible = agents_eligible()
        fits = room_fits(room, teams)
        if best_agent(eligible, fits) is None:
            raise AgentUnavailable("No agent is available; the room stays queued.")
        payload = take_best(eligible, room, reason="manual route", actor=actor, fits=fits)
        if payload is None:
            if best_agent(eligible, fits) is None:
                raise AgentUnavailable("No agent is available; the room stays queued.")
            raise Conflict("The room was taken meanwhile.")
        queue_notify()
        return payload
    agent = _agent_by_id(agent_id)
    if actor.is_agent and agent.pk != actor.pk:
        raise PermissionDenied("Agents may only take rooms for themselves.")
    if actor.is_agent and not teams.serves(agent.pk, room.team_id):
        raise PermissionDenied("The room waits for another team.")
    force = force and actor.is_admin
    if not force and not is_available(agent, presence.online_user_ids()):
        raise AgentUnavailable()
    if not capacity.capacity_reserve(agent=agent, force=force):
        raise NoCapacity()
    payload = assignment.claim(
        room_id=room.pk, agent=agent, reason="forced" if force else "manual", actor=actor
    )
    if payload is None:
        capacity.capacity_release(agent_id=agent.pk)
        raise Conflict("The room was taken meanwhile.")
    action = RoutingAction.FORCED if force else RoutingAction.ASSIGNED
    audit(
        action, room_id=room.pk, actor=actor, to_agent=agent, reason="manual", team_id=room.team_id
    )
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
    if not force and not is_available(to_agent, presence.online_user_ids()):
        raise AgentUnavailable()
    if not capacity.capacity_reserve(agent=to_agent, force=force):
        raise NoCapacity()
    from_agent = User.objects.get(pk=room.agent_id)
    payload = assignment.hand_over(
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
    audit(
        RoutingAction.FORCED if force else RoutingAction.TRANSFERRED,
        room_id=room.pk,
        actor=actor,
        from_agent=from_agent,
        to_agent=to_agent,
        reason="transfer",
        note=note,
        team_id=room.team_id,
    )
    queue_drain()  # the old agent has a free slot
    return payload


def room_transfer_to_team(
    *, room_id: object, actor: User, to_team_id: object, note: str = ""
) -> dict[str, Any]:
    """``POST /api/chat/transfer`` with ``to_team_id``: the assigned agent or an admin
    moves an active room to a team: to its best free member who fits the room (its
    skills) while the team is open, otherwise to the head of that team's queue. An admin
    may also move a waiting room (to the head of the team's queue, drained at once).
    Concurrent moves of one room: one wins, the others get ``conflict``."""
    if actor.is_admin:
        room = selectors.room_by_id(room_id)
        if room is None:
            raise NotFound("No such room.")
    else:
        room = selectors.room_get_for_user(room_id=room_id, user=actor)
        if not (actor.is_agent and room.agent_id == actor.pk):
            raise PermissionDenied("Only the assigned agent or an admin transfers a room.")
    if not isinstance(note, str) or len(note) > 1000:
        raise ValidationFailed(details={"fields": {"note": ["At most 1000 characters."]}})
    teams = directory()
    team = teams.team(_object_id_or_none(to_team_id))
    if team is None:
        raise NotFound("No such team.")
    if room.status == RoomStatus.QUEUED:
        if room.team_id == team.id:
            raise ValidationFailed("The room already waits for that team.")
        return _to_team_queue(room, team, actor=actor, from_agent=None, note=note)
    if room.status != RoomStatus.ACTIVE or room.agent_id is None:
        raise Conflict("Only an open room can be transferred.")
    from_agent = User.objects.get(pk=room.agent_id)
    if team.schedule.is_open(common.routing_now()):
        needs = room.required_skills or ()
        eligible = [a for a in agents_eligible() if a.pk != from_agent.pk]
        while True:
            fits = [a for a in eligible if teams.fits(a.pk, team_id=team.id, needs=needs)]
            if not fits:
                break  # nobody there is free: the head of the team's queue
            to_agent = fits[0]
            if not capacity.capacity_reserve(agent=to_agent):
                eligible.remove(to_agent)
                continue
            payload = assignment.hand_over(
                room=room,
                from_agent=from_agent,
                to_agent=to_agent,
                actor=actor,
                note=note,
                to_team=team.brief(),
            )
            if payload is None:
                capacity.capacity_release(agent_id=to_agent.pk)
                raise Conflict("The room changed hands meanwhile; reload it.")
            capacity.capacity_release(agent_id=from_agent.pk)
            audit(
                RoutingAction.TRANSFERRED,
                room_id=room.pk,
                actor=actor,
                from_agent=from_agent,
                to_agent=to_agent,
                reason=f"transfer to {team.name}",
                note=note,
                team_id=room.team_id,
                to_team_id=team.id,
            )
            queue_drain()  # the old agent has a free slot
            return {**payload, "queued": False}
    return _to_team_queue(room, team, actor=actor, from_agent=from_agent, note=note)


def _to_team_queue(
    room: Room, team: TeamInfo, *, actor: User, from_agent: User | None, note: str
) -> dict[str, Any]:
    """``room`` to the head of ``team``'s queue (from ``from_agent``, or from the queue it
    waits in), then a drain (a free member takes it at once, when the team is open)."""
    payload = assignment.to_team_queue(
        room=room,
        to_team=team.brief(),
        queued_at=queue_head_time(team.id),
        text=f"Your chat is waiting for the next agent of {team.name}.",
        actor=actor,
        from_agent=from_agent,
        note=note,
    )
    if payload is None:
        raise Conflict("The room changed hands meanwhile; reload it.")
    if from_agent is not None:
        capacity.capacity_release(agent_id=from_agent.pk)
    audit(
        RoutingAction.TRANSFERRED if from_agent is not None else RoutingAction.REQUEUED,
        room_id=room.pk,
        actor=actor,
        from_agent=from_agent,
        reason=f"to the head of {team.name}'s queue",
        note=note,
        team_id=room.team_id,
        to_team_id=team.id,
    )
    queue_drain()
    moved = selectors.room_by_id(room.pk) or room
    return {
        "room_id": str(room.pk),
        "seq": payload["seq"],
        "from_agent": payload.get("from_agent"),
        "to_agent": dtos.user_brief(User.objects.filter(pk=moved.agent_id).first())
        if moved.agent_id
        else None,
        "to_team": team.brief(),
        "note": note,
        "forced": False,
        "by": dtos.user_brief(actor),
        "queued": moved.status == RoomStatus.QUEUED,
        "room": selectors.room_detail(room_id=moved.pk, user=actor, room=moved),
    }


def _object_id_or_none(value: object) -> ObjectId | None:
    try:
        return ObjectId(str(value))
    except Exception:
        return None


def room_requeue(*, room_id: object, actor: User | None, reason: str) -> dict[str, Any] | None:
    """Take an active room from its agent and put it at the head of the queue, then
    route it again at once (never back to the same agent by this call)."""
    room = selectors.room_by_id(room_id)
    if room is None:
        raise NotFound("No such room.")
    if room.status != RoomStatus.ACTIVE or room.agent_id is None:
        raise Conflict("Only an active room can go back to the queue.")
    from_agent = User.objects.get(pk=room.agent_id)
    # A room of a deleted team would wait in a queue nobody drains: the general one.
    gone = room.team_id is not None and directory().team(room.team_id) is None
    payload = assignment.back_to_queue(
        room=room,
        from_agent=from_agent,
        queued_at=queue_head_time(None if gone else room.team_id),
        reason=reason,
        actor=actor,
        to_general=gone,
    )
    if payload is None:
        return None
    capacity.capacity_release(agent_id=from_agent.pk)
    audit(
        RoutingAction.REQUEUED,
        room_id=room.pk,
        actor=actor,
        from_agent=from_agent,
        reason=reason,
        team_id=room.team_id,
    )
    queue_drain()
    return payload


def room_remove_agent(*, room_id: object, actor: User, reason: str = "") -> dict[str, Any]:
    """An admin takes an active room away from its agent: it waits at the head of its
    queue and routing gives it to any eligible agent but the one removed (an admin may
    still assign them by hand). The agent loses access at once; the customer reads why.
    """
    if not actor.is_admin:
        raise PermissionDenied("Only admins remove an agent from a room.")
    if not isinstance(reason, str) or len(reason) > 200:
        raise ValidationFailed(details={"fields": {"reason": ["At most 200 characters."]}})
    room = selectors.room_by_id(room_id)
    if room is None:
        raise NotFound("No such room.")
    if room.status != RoomStatus.ACTIVE or room.agent_id is None:
        raise Conflict("The room has no agent to remove.", details={"status": room.status})
    from_agent = User.objects.get(pk=room.agent_id)
    why = reason.strip() or f"{actor.name} removed {from_agent.name} from this chat"
    gone = room.team_id is not None and directory().team(room.team_id) is None
    payload = assignment.back_to_queue(
        room=room,
        from_agent=from_agent,
        queued_at=queue_head_time(None if gone else room.team_id),
        reason=why,
        actor=actor,
        to_general=gone,
        skip=True,
    )
    if payload is None:
        raise Conflict("The room changed hands meanwhile; reload it.")
    capacity.capacity_release(agent_id=from_agent.pk)
    audit(
        RoutingAction.REQUEUED,
        room_id=room.pk,
        actor=actor,
        from_agent=from_agent,
        reason=f"removed: {why}",
        team_id=room.team_id,
    )
    queue_drain()
    moved = selectors.room_by_id(room.pk) or room
    return {**payload, "room": selectors.room_detail(room_id=moved.pk, user=actor, room=moved)}


def queue_head_time(team_id: ObjectId | None):
    """A ``queued_at`` ahead of every room waiting in that team's queue."""
    head = selectors.team_queue(team_id, limit=1)
    now = timezone.now()
    if head and head[0].queued_at and head[0].queued_at <= now:
        return head[0].queued_at - timedelta(milliseconds=1)
    return now - timedelta(milliseconds=1)
