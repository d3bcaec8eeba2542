"""SLA flags on rooms (issue 30): a ``sla`` timeline row per (room, target, state),
staff only (``chat.models.STAFF_KINDS``).

The row's compare-and-set requires the room's flag for that target to be what the caller
read (null, or "nearing" on the way to "breached") and sets the new state: of two
processes (or two ticks) that saw the same room, one matches and writes the row, the
other is refused and writes nothing. A flag only moves forward (null -> nearing ->
breached), so a row is never written twice."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from chat import events, render
from chat.models import EventKind, Room, RoomEvent
from chat.services import outcomes
from chat.services.rooms import room_scene
from chat.writer import Append
from chat_project.errors import DomainError

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
NEARING = "nearing"
BREACHED = "breached"
FIELDS = {FIRST_RESPONSE: "sla_first_response", RESOLUTION: "sla_resolution"}
ORDER = (None, NEARING, BREACHED)


def room_sla_mark(
    *, room: Room, target: str, state: str, due_at: datetime, team_id: object | None
) -> RoomEvent | None:
    """Move ``room``'s flag for ``target`` to ``state`` (from what ``room`` holds) and
    write its ``sla`` row; the stored row, or None when another writer got there first,
    the room closed, or the flag is already there."""
    name = FIELDS[target]
    current = getattr(room, name, None)
    if ORDER.index(state) <= ORDER.index(current):
        return None
    data: dict[str, Any] = {
        "target": target,
        "state": state,
        "due_at": due_at.isoformat(),
        "team_id": str(team_id) if team_id else None,
    }
    flagged = copy.copy(room)
    setattr(flagged, name, state)
    op = Append(
        room_id=room.pk,
        event=RoomEvent(room_id=room.pk, kind=EventKind.SLA, data=data),
        require={name: current},
        set_fields={name: state},
        # The agent hears of it on every socket, the console too when the room is not
        # open in it; the room's staff sockets through the room.
        notice=events.Notice(
            scene=room_scene(flagged),
            tell_users=((room.agent_id, render.Audience.AGENT),) if room.agent_id else (),
        ),
    )
    try:
        return outcomes.written(op)
    except DomainError:
        return None
