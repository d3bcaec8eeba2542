"""Who takes part in a room: its customer and its agent; admins read every room and take
part in none. (What a refused change tells its author: ``chat.services.outcomes``.)"""

from __future__ import annotations

from accounts.models import Role, User
from chat import selectors
from chat.models import Room
from chat_project.errors import PermissionDenied


def require_participant(room: Room, user: User) -> None:
    if not selectors.is_participant(room, user):
        raise PermissionDenied("Only the room's customer and its agent can post here.")


def participant_field(user: User) -> str | None:
    """The room field that names ``user`` when they take part: customers by
    ``customer_id``, agents by ``agent_id``; admins see every room and take part in none."""
    return {Role.USER: "customer_id", Role.AGENT: "agent_id"}.get(user.role)


def not_a_participant(*, room_id: object, user: User) -> PermissionDenied:
    """What an admin (or any non-participant who may see the room) is told; a room the
    caller may not see is a 404 (raised by the lookup)."""
    selectors.room_get_for_user(room_id=room_id, user=user)
    return PermissionDenied("Only the room's customer and its agent can do this here.")
