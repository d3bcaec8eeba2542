"""Rooms: who may see which (``can_see``, the rule of the package docstring), one room,
a caller's rooms, and what routing reads of rooms."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from accounts.models import User
from chat import dtos, render, routing_hooks, timeline
from chat.models import OPEN_STATUSES, Room, RoomStatus
from chat.selectors.queue import queue_rooms_ahead
from chat.tags import clean_tag
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed


def object_id(value: object) -> ObjectId:
    """An id from the wire; anything malformed is a 404 like an unknown id."""
    if isinstance(value, ObjectId):
        return value
    if not isinstance(value, str):
        raise NotFound()
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound() from None


def seq_value(value: object, *, field: str) -> int:
    """A non-negative seq from the wire (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(details={"fields": {field: ["A non-negative integer."]}})
    return value


def can_see(room: Room, user: User) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if user.is_agent:
        return room.agent_id == user.pk
    return room.customer_id == user.pk


def is_staff(user: User) -> bool:
    """Agents and admins: who may see what a customer never does (notes, tags)."""
    return bool(user.is_authenticated and (user.is_agent or user.is_admin))


def require_staff(user: User, what: str) -> None:
    if not is_staff(user):
        raise PermissionDenied(f"Only agents and admins {what}.")


def visible_match(user: User) -> dict[str, Any]:
    """The flat filter of the rooms ``user`` may see (``{}``: all of them)."""
    if user.is_admin:
        return {}
    if user.is_agent:
        return {"agent_id": user.pk}
    return {"customer_id": user.pk}


def room_get_for_user(*, room_id: object, user: User) -> Room:
    room = timeline.room_by_id(object_id(room_id))
    if room is None or not can_see(room, user):
        raise NotFound("No such room.")
    return room


def is_participant(room: Room, user: User) -> bool:
    return user.pk in (room.customer_id, room.agent_id)


def room_detail(*, room_id: object, user: User, room: Room | None = None) -> dict[str, Any]:
    """One room for ``user``, with its queue position and routing's extras (``room``: as
    the caller just read it, for a caller allowed to see it)."""
    if room is None:
        room = room_get_for_user(room_id=room_id, user=user)
    users = dtos.users_by_id({room.customer_id, room.agent_id}, known=[user])
    return {
        **render.room(room, users, audience=render.audience_of(user)),
        "queue_position": room_queue_position(room),
        **routing_hooks.room_extras(room),
    }


def room_queue_position(room: Room) -> int | None:
    """1-based place in the queue (``QUEUE_ORDER``), None unless queued."""
    if room.status != RoomStatus.QUEUED or room.queued_at is None:
        return None
    return queue_rooms_ahead(room) + 1


def room_list(
    *,
    user: User,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
    assigned_only: bool = False,
    tag: str | None = None,
) -> dict[str, Any]:
    """The caller's rooms, newest first, paged by id (``next`` is the cursor to pass).
    ``tag`` (agents and admins): only rooms with that tag, found by the (tags, agent)
    index, the status a later stage."""
    if assigned_only:
        if not user.is_agent:
            raise PermissionDenied("Only agents have assigned rooms.")
        match: dict[str, Any] = {"agent_id": user.pk}
    else:
        match = visible_match(user)
    then = None
    if tag is not None:
        require_staff(user, "filter rooms by tag")
        match = {"tags": clean_tag(tag), **match}
        then = {"status": status} if status else None
    elif status:
        match["status"] = status
    before_id = None
    if cursor:
        try:
            before_id = ObjectId(cursor)
        except (InvalidId, TypeError):
            raise ValidationFailed(details={"fields": {"cursor": ["Invalid cursor."]}}) from None
    rows = timeline.rooms(match, then=then, before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": render.rooms(rows, viewer=user),
        "next": str(rows[-1].pk) if more else None,
    }


def room_ids_for_user(*, user: User) -> list[str]:
    """Open rooms the user may see now (admins: every open room)."""
    if not user.is_authenticated:
        return []
    match = {**visible_match(user), "status": {"$in": [s.value for s in OPEN_STATUSES]}}
    return [str(room.pk) for room in timeline.rooms(match)]


def rooms_last_seq(*, user: User, room_ids: list[str]) -> dict[str, int]:
    """The seq of each of ``room_ids`` that ``user`` may see (one read)."""
    ids = [ObjectId(r) for r in room_ids if ObjectId.is_valid(r)]
    if not ids:
        return {}
    return {str(r.pk): r.last_seq for r in timeline.rooms_by_ids(ids) if can_see(r, user)}


def room_by_id(room_id: object) -> Room | None:
    """A room whoever may see it (routing decides who may act); None if unknown."""
    try:
        return timeline.room_by_id(object_id(room_id))
    except NotFound:
        return None


def active_room_counts() -> dict[ObjectId, int]:
    """Active rooms per agent, counted in the database."""
    return timeline.active_rooms_per_agent()


def active_rooms_of(agent_id: object) -> list[Room]:
    return timeline.rooms({"agent_id": object_id(agent_id), "status": RoomStatus.ACTIVE.value})


def rooms_first_assigned(room_ids: list[ObjectId]) -> dict[ObjectId, Any]:
    """Each room's first ``assigned`` event time (the admin's wait column)."""
    return timeline.first_assigned_at(room_ids)


def tags_in_use(*, limit: int = 30) -> list[tuple[str, int]]:
    """The most used tags and how many rooms carry each (the admin's tag filter)."""
    return timeline.tags_in_use(limit=limit)


def room_ids_with_tag(tag: str, *, limit: int = 10_000) -> list[ObjectId]:
    """The newest ``limit`` rooms carrying ``tag`` (the admin's filter), by the index."""
    return [room.pk for room in timeline.rooms({"tags": clean_tag(tag)}, limit=limit)]
