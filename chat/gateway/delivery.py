"""What one socket has delivered of one room: the gateway's per-room state machine,
pure (no socket, no event loop, the clock passed in), so its rules are unit-tested
alone (``chat/tests/test_delivery.py``).

The channel layer is at-most-once and MongoDB is the record. Every room event carries
``room_id`` and ``seq``. Joining subscribes to the room FIRST, then reads history (the
latest page, or a replay after a cursor) and starts a :class:`RoomCursor` at the room's
``last_seq`` as read; live events at or below it are dropped (they were in what was
read), so there is no gap and no duplicate between the read and the live stream. Two
refinements:

- a seq is taken a moment before its event is written (in the same round of the
  timeline writer), so a read can miss a write that is in flight: recent seqs the read
  did not contain are remembered and sent if they arrive live;
- a live event that skips ahead (a lost fan-out, or two processes publishing in
  different orders) is sent at once and the skipped seqs become ``gaps``; if they have
  not arrived ``WS_GAP_REPAIR_SECONDS`` later, the gateway reads them from the database
  and :meth:`RoomCursor.repair` says which of those to send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Reads can miss writes in flight among this many newest seqs.
IN_FLIGHT_WINDOW = 100
# A missing seq not seen within this long (live or in the database) is a noop filler or
# a crashed round's hole: forgotten.
MISSING_TTL_SECONDS = 10.0


@dataclass(slots=True)
class RoomCursor:
    """Every seq up to ``seq`` has been sent, except

    - ``gaps``: seqs the live stream skipped or a replay did not find (a write in
      flight); read from the database if they do not arrive;
    - ``unread``: recent seqs the latest-page read did not contain (events other than
      messages, or a message in flight); sent if they arrive live, never read.

    Both map a seq to when it was noticed (``now``, any monotonic clock)."""

    seq: int
    gaps: dict[int, float] = field(default_factory=dict)
    unread: dict[int, float] = field(default_factory=dict)
    max_gap: int = 5000  # WS_REPLAY_MAX_EVENTS: further behind is a resync anyway

    def take(self, seq: int, *, now: float) -> bool:
        """Whether a live event with ``seq`` is to be sent now (and note that it is)."""
        if seq <= self.seq:
            if self.gaps.pop(seq, None) is not None:
                return True
            return self.unread.pop(seq, None) is not None
        if seq > self.seq + 1:
            for skipped in range(max(self.seq + 1, seq - self.max_gap), seq):
                self.gaps[skipped] = now
        self.seq = seq
        return True

    def repair(self, events: list[dict[str, Any]], *, now: float) -> list[dict[str, Any]]:
        """Given the events read from the database after the oldest gap, those to send:
        the gaps found, and anything beyond what was sent (the stream stopped early).
        Gaps the database does not have either (a write in flight, a filler, a crashed
        round's hole) are moved to ``unread``: sent if they arrive, else forgotten."""
        found = []
        for item in events:
            seq = item["data"]["seq"]
            if self.gaps.pop(seq, None) is not None or (seq > self.seq and self.take(seq, now=now)):
                found.append(item)
        self.unread.update(self.gaps)
        self.gaps.clear()
        self.forget_stale(now=now)
        return found

    def forget_stale(self, *, now: float) -> None:
        horizon = now - MISSING_TTL_SECONDS
        self.gaps = {s: t for s, t in self.gaps.items() if t > horizon}
        self.unread = {s: t for s, t in self.unread.items() if t > horizon}


def _recent_absent(last_seq: int, low_seq: int, seen: set[int], now: float) -> dict[int, float]:
    start = max(low_seq, last_seq - IN_FLIGHT_WINDOW) + 1
    return {s: now for s in range(start, last_seq + 1) if s not in seen}


def cursor_after_page(page: dict[str, Any], *, now: float, max_gap: int) -> RoomCursor:
    """After a latest-page read (``messages``): recent seqs not in it may be in flight."""
    seen = {m["seq"] for m in page["messages"]}
    unread = _recent_absent(page["last_seq"], 0, seen, now)
    return RoomCursor(seq=page["last_seq"], unread=unread, max_gap=max_gap)


def cursor_after_replay(
    replay: dict[str, Any], after_seq: int, *, now: float, max_gap: int
) -> RoomCursor:
    """After a replay from ``after_seq`` (``events``): recent seqs not in it are gaps."""
    seen = {item["data"]["seq"] for item in replay["events"]}
    gaps = _recent_absent(replay["last_seq"], after_seq, seen, now)
    return RoomCursor(seq=replay["last_seq"], gaps=gaps, max_gap=max_gap)
