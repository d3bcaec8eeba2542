"""What callers hand the timeline writer (``Append``, ``Place``, ``Receipt``) and what
they get back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from chat.models import RoomEvent

if TYPE_CHECKING:
    from chat.events import Notice


@dataclass(frozen=True)
class Target:
    """The guarded update of an existing event (the message an edit or delete changes),
    made right before the change's own event is inserted. ``build(seq)`` gives the
    ``(filter, update)`` for the seq the change gets; the filter is a condition on the
    message (e.g. not deleted) that must hold, or the change stops with
    :class:`TargetMissed` and its caller decides what its seq becomes."""

    event_id: ObjectId
    build: Callable[[int], tuple[dict[str, Any], dict[str, Any]]]


@dataclass(eq=False)
class Append:
    """Give ``event`` (unsaved) the room's next seq while the room is open and its
    fields match ``require`` (raw names and values, e.g. ``{"customer_id": oid}``), and
    set ``set_fields`` on the room in the same update; ``set_once`` fields are set only
    while still null (an agent's first reply); ``add_to_set`` / ``pull`` add values to /
    remove values from array fields of the room (its tags) in the same update.
    ``idem_key``: a send's exactly-once key. ``notice``: what the stored row tells the
    sockets once the write is durable (``chat.events``: rendered and published in seq
    order among the round's changes; data only, nothing of the caller runs then).

    ``stamp(event)``: room fields written with the seq that no change ever requires (the
    room's last message), from the event once it has its seq: merged into the
    compare-and-set without ending its segment, the last change of a segment winning.
    ``room_update``: ``(filter, update)`` of the room after the event goes in, applied
    only where the room still matches (a non-upsert update: the last message's summary
    when that message is edited or deleted).

    ``allow_closed``: the one exception to "while the room is open". Only a satisfaction
    rating sets it (``chat.services.ratings``): a rating comes after the close, so its
    compare-and-set leaves out ``status != closed`` (it requires ``status: closed``
    itself). Every other change to a closed room is refused as before."""

    room_id: ObjectId
    event: RoomEvent
    require: dict[str, Any] = field(default_factory=dict)
    set_fields: dict[str, Any] = field(default_factory=dict)
    set_once: dict[str, Any] = field(default_factory=dict)
    idem_key: str | None = None
    target: Target | None = None
    known_seq: int | None = None
    notice: Notice | None = None
    add_to_set: dict[str, list[Any]] = field(default_factory=dict)
    pull: dict[str, list[Any]] = field(default_factory=dict)
    allow_closed: bool = False
    stamp: Callable[[RoomEvent], dict[str, Any]] | None = None
    room_update: tuple[dict[str, Any], dict[str, Any]] | None = None

    @property
    def alone(self) -> bool:
        """Takes its seq in a compare-and-set of its own (``chat.writer.rounds``): its
        condition or update cannot be merged with its neighbours'."""
        return self.allow_closed or bool(self.add_to_set or self.pull)


@dataclass(eq=False)
class Place:
    """Insert ``event`` at the seq it carries, one its caller already holds (a change
    that stopped with :class:`TargetMissed`) or a hole's (a ``noop`` filler); optionally
    after a guarded :class:`Target` update."""

    event: RoomEvent
    target: Target | None = None
    notice: Notice | None = None
    room_update: tuple[dict[str, Any], dict[str, Any]] | None = None


@dataclass(eq=False)
class Receipt:
    """Raise ``user_id``'s watermarks in a room to ``delivered`` / ``read`` (None: not
    moved) while the user is its ``participant`` (``customer_id`` / ``agent_id``) and
    the room's ``last_seq`` reaches ``delivered``."""

    room_id: ObjectId
    user_id: ObjectId
    participant: str
    delivered: int
    read: int | None = None


@dataclass(frozen=True)
class Appended:
    event: RoomEvent  # as stored: its seq and id set


@dataclass(frozen=True)
class Duplicate:
    """The send key exists: the message was sent before (or is being sent by another
    process this instant). No seq was taken."""


@dataclass(frozen=True)
class Refused:
    """The room is closed, gone (``room`` None) or no longer matches ``require``:
    ``room`` is the raw room document as the writer just read it."""

    room: dict[str, Any] | None


@dataclass(frozen=True)
class TargetMissed:
    """The target's guard failed. The change holds ``seq`` with no event: its caller
    must :class:`Place` something there (the event after all, or a ``noop``)."""

    seq: int


@dataclass(frozen=True)
class Placed:
    event: RoomEvent


@dataclass(frozen=True)
class Occupied:
    """Something is at that seq already (a hole filled meanwhile)."""


@dataclass(frozen=True)
class ReceiptWritten:
    """``matched``: the user is a participant and the room reaches ``delivered``;
    ``moved``: a watermark went up; the marks as this process now knows them."""

    matched: bool
    moved: bool
    delivered: int
    read: int


Outcome = Appended | Duplicate | Refused | TargetMissed | Placed | Occupied | ReceiptWritten
