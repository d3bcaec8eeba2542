"""The queue: one order for routing, REST, ``queue-updated`` and the admin.

FIFO by ``queued_at`` (a room taken back from an agent is put at the head with a time
ahead of every waiting room), and rooms queued in the same millisecond by ``_id``
(issue 18: positions counted only earlier ``queued_at`` values, so such rooms shared a
place while the drain took them one after another). Every reader of the queue goes
through ``QUEUE_ORDER``: routing's drain and the queue snapshot (``queued_rooms``), a
room's own place (``queue_rooms_ahead``) and the admin's column (``queue_places``).
Each read starts with the flat ``{status, queued_at}`` filter of the (status,
queued_at) index."""

from __future__ import annotations

from bson import ObjectId

from chat import timeline
from chat.models import Room

QUEUE_ORDER = timeline.QUEUE_ORDER


def queued_rooms(*, limit: int | None = None) -> list[Room]:
    """The waiting rooms in ``QUEUE_ORDER``."""
    return timeline.queued_rooms(limit=limit)


def queue_rooms_ahead(room: Room) -> int:
    """How many waiting rooms come before ``room`` in ``QUEUE_ORDER``."""
    return timeline.queued_ahead_of(room)


def queue_places() -> dict[ObjectId, int]:
    """Every waiting room's 1-based place (ids only), in ``QUEUE_ORDER``."""
    return timeline.queued_places()
