"""What a change the timeline writer refused means to its author: the one mapping from a
refusal to a domain error, used by every service that writes the timeline."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat.exceptions import RoomClosed
from chat.models import RoomEvent, RoomStatus
from chat.writer import Append, Appended, Outcome, Refused, steps
from chat_project.errors import Conflict, DomainError, NotFound

# Room fields that name who takes part: a change that requires one of them and finds
# the room no longer so is a room the author no longer sees (a 404, as for any room
# they may not see).
PARTICIPANT_FIELDS = ("customer_id", "agent_id")


def refusal_error(
    room: dict[str, Any] | None,
    op: Append,
    *,
    conflict: type[DomainError] = Conflict,
) -> DomainError:
    """Why the writer refused ``op``, from the room as the writer just read it: gone or
    no longer the author's (``not_found``), closed (``room_closed``, unless ``op`` is
    the one change allowed into a closed room), or another of its requirements no longer
    met (``conflict``, or the error the caller names: a rating already given)."""
    if room is None:
        return NotFound("No such room.")
    for name in PARTICIPANT_FIELDS:
        if name in op.require and room.get(name) != op.require[name]:
            return NotFound("No such room.")
    if room.get("status") == RoomStatus.CLOSED.value and not op.allow_closed:
        return RoomClosed()
    if conflict is Conflict:
        return Conflict("The room changed meanwhile; try again.")
    return conflict()


def appended(outcome: Outcome, op: Append, *, conflict: type[DomainError] = Conflict) -> RoomEvent:
    """The stored row of an ``op`` the writer appended; its :func:`refusal_error` when
    it was refused."""
    if isinstance(outcome, Appended):
        return outcome.event
    if isinstance(outcome, Refused):
        raise refusal_error(outcome.room, op, conflict=conflict)
    raise Conflict("The change could not be written; try again.")


def written(op: Append, *, conflict: type[DomainError] = Conflict) -> RoomEvent:
    """Write one change from this thread (a body of one step, ``chat.writer.steps``) and
    return its stored row, or raise its :func:`refusal_error`."""
    return steps.run(_one(op, conflict))


def _one(op: Append, conflict: type[DomainError]) -> steps.Steps[RoomEvent]:
    return appended((yield op), op, conflict=conflict)


def as_author(user: User) -> dict[str, Any]:
    """What a change by ``user`` requires of the room: its customer or its agent (an
    admin takes part in no room and may write where the change allows it)."""
    if user.is_agent:
        return {"agent_id": user.pk}
    if user.is_admin:
        return {}
    return {"customer_id": user.pk}
