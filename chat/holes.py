"""Holes: a seq the room's counter gave out with no event at it.

Only a database crash in the middle of a writer round leaves one (``chat.writer``,
crash points): the compare-and-set landed, its event did not. Replay tolerates a hole
(it reports the room's ``last_seq``, so cursors move past it), and this module gives
it a ``noop`` filler once it is *settled*, so that a room's timeline is gap-free again.

Settled: no round still on its way can be about to write that seq, because the room's
seq was last taken (``Room.seq_at``, set by every compare-and-set) or an event after
the hole was written more than ``CHAT_HOLE_SETTLE_SECONDS`` ago. A filler that loses
the race to a late event (its insert collides) was not needed; an event that loses to
a filler takes another seq (``chat.writer``). Fillers go through the writer like
every other timeline change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from chat.models import EventKind, Room, RoomEvent
from chat.writer import Place, Placed, timeline_writer


def settled(room: Room, holes: Iterable[int], later: Iterable[RoomEvent]) -> list[int]:
    """The holes of ``room`` that are settled; ``later``: events read around them."""
    horizon = timezone.now() - timedelta(seconds=settings.CHAT_HOLE_SETTLE_SECONDS)
    if room.seq_at is None or room.seq_at <= horizon:
        return sorted(holes)
    old = [event.seq for event in later if event.created_at and event.created_at <= horizon]
    newest_old = max(old, default=0)
    return sorted(seq for seq in holes if seq < newest_old)


def holes_fill(*, room_id: object, seqs: Iterable[int]) -> int:
    """Give each hole a ``noop`` filler; returns how many this call wrote."""
    filled = 0
    for seq in seqs:
        filler = RoomEvent(room_id=room_id, seq=seq, kind=EventKind.NOOP)
        if isinstance(timeline_writer().submit(Place(event=filler)), Placed):
            filled += 1
    return filled
