"""Teams, skills and business hours in routing (issue 15): where a new room goes (chat's
``room_target`` hook), what a room's answer says of its team (``room_extras``), overflow
to a fallback team, a team's opening, the skills a room needs, the message a customer
leaves while the team is closed.

Overflow and openings are time-driven: ``teams_tick`` runs every
``ROUTING_TEAMS_TICK_SECONDS`` in one gateway process at a time (a Redis lock), moves
rooms that waited longer than their team's overflow time to its fallback team (when
that team is open), and drains the queues of teams that just opened. Every move is a
timeline change (``chat.assignment.overflow``: a system message the customer reads)
and a routing audit row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError

from accounts.models import User
from agents import skills as skill_rules
from agents.directory import Directory, TeamInfo, directory
from agents.models import OfflineMessage, RoutingAction
from agents.services import common, mail
from agents.services.common import TEAMS_OPEN, TEAMS_TICK_LOCK, audit, redis_client
from agents.services.queue import queue_drain
from chat import assignment, dtos, selectors
from chat import services as chat_services
from chat.models import Room, RoomStatus
from chat.routing_hooks import RoomTarget
from chat.services import inputs
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

OFFLINE_CLIENT_MSG_ID = "offline-message"


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": {field: [message]}})


def _oid(value: object) -> ObjectId | None:
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


# --- chat's hooks ---------------------------------------------------------------------------


def room_target(*, customer: User, team_id: str | None, topic: str | None) -> RoomTarget:
    """Where a new room goes: the topic's team and skills, or the team the customer
    chose, or the general queue; refused: an unknown or unlisted team, an unknown topic,
    both at once. ``offline``: that team is closed now."""
    if team_id is None and topic is None:
        return RoomTarget()
    if team_id is not None and topic is not None:
        raise _invalid("topic", "Give a team or a topic, not both.")
    teams = directory()
    if topic is not None:
        found = teams.topics.get(topic)
        if found is None:
            raise _invalid("topic", "No such topic.")
        team = teams.team(found.team_id)
        needs = list(found.required_skills)
    else:
        team = teams.team(_oid(team_id))
        if team is None or not team.listed:
            raise _invalid("team_id", "No such team.")
        needs = []
    if team is None:
        return RoomTarget(required_skills=needs)
    offline = not team.schedule.is_open(common.routing_now())
    return RoomTarget(team_id=team.id, required_skills=needs, offline=offline)


def room_extras(room: Room) -> dict[str, Any]:
    """A room's team in its REST answer; while it waits, whether the team is closed
    (``offline``), when it opens and what it says to customers."""
    team = directory().team(room.team_id)
    if team is None:
        return {}
    extras: dict[str, Any] = {"team": team.brief()}
    if room.status == RoomStatus.QUEUED:
        extras.update(team_state(team, common.routing_now()))
    return extras


def team_state(team: TeamInfo, now: datetime) -> dict[str, Any]:
    if team.schedule.is_open(now):
        return {"offline": False}
    return {
        "offline": True,
        "next_open_at": dtos.iso(team.schedule.next_opening(now)),
        "offline_message": team.offline_message or settings.ROUTING_OFFLINE_MESSAGE,
    }


# --- time: overflow and openings ------------------------------------------------------------


def overflow_text(to_team: TeamInfo) -> str:
    return (
        f"Everyone in this team is still busy: your chat has moved to {to_team.name}, "
        "so that someone can answer sooner."
    )


def teams_overflow(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Move every room that waited in its team's queue longer than the team's
    ``overflow_after_seconds`` to the team's fallback, if that one is open now. Each
    keeps its place in time (``queued_at``) in the fallback's queue."""
    now = now or common.routing_now()
    teams = directory()
    moved = []
    for team in teams.teams.values():
        fallback = teams.team(team.fallback_id)
        if team.overflow_after_seconds is None or fallback is None:
            continue
        if not fallback.schedule.is_open(now):
            continue  # a closed fallback helps nobody: the room stays where it is
        cutoff = now - timedelta(seconds=team.overflow_after_seconds)
        for room in selectors.queue_waiting_since(team.id, cutoff=cutoff):
            payload = assignment.overflow(
                room=room,
                from_team=team.brief(),
                to_team=fallback.brief(),
                text=overflow_text(fallback),
            )
            if payload is None:
                continue  # taken or closed meanwhile
            audit(
                RoutingAction.OVERFLOWED,
                room_id=room.pk,
                team_id=team.id,
                to_team_id=fallback.id,
                reason=f"waited over {team.overflow_after_seconds} s in {team.name}",
            )
            moved.append(payload)
    if moved:
        queue_drain()
    return moved


def _teams_opened(teams: Directory, now: datetime) -> list[ObjectId]:
    """Teams that opened since the last look (the state is shared in Redis, so that
    whichever process looks next sees the change once)."""
    client = redis_client()
    before = {k.decode(): v.decode() for k, v in client.hgetall(TEAMS_OPEN).items()}
    state = {str(t.id): "1" if t.schedule.is_open(now) else "0" for t in teams.teams.values()}
    opened = [
        team_id
        for team_id, is_open in state.items()
        if is_open == "1" and before.get(team_id) == "0"
    ]
    pipe = client.pipeline()
    pipe.delete(TEAMS_OPEN)
    if state:
        pipe.hset(TEAMS_OPEN, mapping=state)
    pipe.execute()
    return [ObjectId(team_id) for team_id in opened]


def teams_tick(*, now: datetime | None = None, locked: bool = True) -> dict[str, int]:
    """Overflow and openings, in one process at a time (``locked``: skip when another
    process ran within the period). With no team configured: nothing, not a read."""
    period_ms = max(int(settings.ROUTING_TEAMS_TICK_SECONDS * 1000 * 0.9), 1)
    if locked and not redis_client().set(TEAMS_TICK_LOCK, 1, nx=True, px=period_ms):
        return {}
    teams = directory()
    if not teams.configured:
        return {}
    now = now or common.routing_now()
    opened = _teams_opened(teams, now)
    moved = teams_overflow(now=now)
    drained = queue_drain() if opened and not moved else 0  # overflow drained already
    return {"opened": len(opened), "overflowed": len(moved), "assigned": drained}


def team_rooms_to_general(*, team_id: ObjectId, team_name: str) -> int:
    """A deleted team's waiting rooms go to the general queue (nobody would drain its
    queue): each move is an overflow with a system message."""
    moved = 0
    for room in selectors.team_queue(team_id):
        payload = assignment.overflow(
            room=room,
            from_team={"id": str(team_id), "name": team_name},
            to_team=None,
            text="Your chat has moved to our general queue.",
        )
        if payload is not None:
            moved += 1
            audit(RoutingAction.OVERFLOWED, room_id=room.pk, team_id=team_id, reason="team deleted")
    if moved:
        queue_drain()
    return moved


# --- what a room needs, what a customer leaves ----------------------------------------------


def room_skills_set(
    *, room_id: object, actor: User, required_skills: list[dict[str, Any]]
) -> dict[str, Any]:
    """An agent (for a waiting room, or the room they hold) or an admin sets the skills
    an open room needs; a waiting room is routed again at once. Every skill must exist."""
    if not (actor.is_admin or actor.is_agent):
        raise PermissionDenied("Only agents and admins set a room's skills.")
    room = selectors.room_by_id(room_id)
    if room is None or not (room.status == RoomStatus.QUEUED or selectors.can_see(room, actor)):
        raise NotFound("No such room.")
    if room.status == RoomStatus.CLOSED:
        raise Conflict("The room is closed.")
    try:
        needs = skill_rules.normalize(required_skills)
    except ValueError as exc:
        raise _invalid("required_skills", str(exc)) from None
    unknown = sorted({need["name"] for need in needs} - directory().skill_names)
    if unknown:
        raise _invalid("required_skills", f"No such skill: {', '.join(unknown)}.")
    updated = chat_services.room_skills_update(room_id=room.pk, required_skills=needs)
    if updated is None:
        raise Conflict("The room is closed.")
    audit(
        RoutingAction.SKILLS,
        room_id=room.pk,
        actor=actor,
        team_id=room.team_id,
        reason=skill_rules.requirements_text(needs) or "none",
    )
    if updated.status == RoomStatus.QUEUED:
        queue_drain()
        updated = selectors.room_by_id(room.pk) or updated
    return selectors.room_detail(room_id=updated.pk, user=actor, room=updated)


def room_leave_message(
    *, room_id: object, customer: User, email: str, message: str
) -> dict[str, Any]:
    """While their room waits, a customer leaves an address to answer and a message (the
    message also goes into the room, so the agent who takes it reads it). Once per room;
    the same again is answered as before."""
    room = selectors.room_get_for_user(room_id=room_id, user=customer)
    if room.customer_id != customer.pk:
        raise PermissionDenied("Only the room's customer leaves a message.")
    try:
        validate_email(email)
    except ValidationError:
        raise _invalid("email", "Enter a valid e-mail address.") from None
    inputs.clean_text(message, field="message")
    if room.status != RoomStatus.QUEUED:
        raise Conflict("The room is no longer waiting.", details={"status": room.status})
    try:
        left = OfflineMessage.objects.create(
            room_id=room.pk,
            team_id=room.team_id if directory().team(room.team_id) else None,
            customer=customer,
            email=email,
            message=message,
        )
    except IntegrityError:
        left = OfflineMessage.objects.filter(room_id=room.pk).first()
        if left is None or (left.email, left.message) != (email, message):
            raise Conflict("A message was already left for this room.") from None
    chat_services.message_send(
        room_id=str(room.pk), sender=customer, client_msg_id=OFFLINE_CLIENT_MSG_ID, text=message
    )
    if left.emailed_at is None:
        # After the save: a failure or a crash here leaves it for the periodic retry.
        mail.offline_message_email(left=left)
    return offline_message_dto(left)


def offline_message_dto(left: OfflineMessage) -> dict[str, Any]:
    return {
        "id": str(left.pk),
        "room_id": str(left.room_id),
        "team_id": str(left.team_id) if left.team_id else None,
        "email": left.email,
        "message": left.message,
        "created_at": dtos.iso(left.created_at),
        "emailed_at": dtos.iso(left.emailed_at),
    }
