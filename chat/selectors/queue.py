"""The queues: one order for routing, REST, ``queue-updated`` and the admin.

One FIFO queue per team (issue 15; ``Room.team_id``, null for the general queue, which
is the only one when no team is configured). Within a queue: FIFO by ``queued_at`` (a
room taken back from an agent, or transferred to a team, is put at the head with a time
ahead of every waiting room), and rooms queued in the same millisecond by ``_id``
(issue 18: positions counted only earlier ``queued_at`` values, so such rooms shared a
place while the drain took them one after another). Every reader of a queue goes
through ``QUEUE_ORDER``: routing's drain (``team_queue``) and the queue snapshot
(``queued_rooms``, every queue at once, split by team by the reader), a room's own
place (``queue_rooms_ahead``) and the admin's column (``queue_places``). A read of one
queue starts with the flat ``{status, team_id, queued_at}`` filter of the (status,
team_id, queued_at) index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from chat import timeline
from chat.models import Room

QUEUE_ORDER = timeline.QUEUE_ORDER


def queued_rooms(*, limit: int | None = None) -> list[Room]:
    """The waiting rooms of every queue in ``QUEUE_ORDER``."""
    return timeline.queued_rooms(limit=limit)


def team_queue(
    team_id: ObjectId | None,
    *,
    after: tuple[Any, ObjectId] | None = None,
    limit: int | None = None,
) -> list[Room]:
    """One team's queue (None: the general one) in ``QUEUE_ORDER``, after a cursor
    ``(queued_at, id)`` if given."""
    return timeline.team_queue(team_id, after=after, limit=limit)


def queue_rooms_ahead(room: Room) -> int:
    """How many rooms of its own queue come before ``room`` in ``QUEUE_ORDER``."""
    return timeline.queued_ahead_of(room)


def queue_places() -> dict[ObjectId, int]:
    """Every waiting room's 1-based place in its own queue (ids only)."""
    return timeline.queued_places()


def queue_waiting_since(team_id: ObjectId, *, cutoff: datetime) -> list[Room]:
    """The rooms of a team's queue that joined it at or before ``cutoff``."""
    return timeline.queued_longer_than(team_id, cutoff=cutoff)
