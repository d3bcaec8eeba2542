"""What the writer remembers of rooms it wrote or read lately: only ever a guess that
saves a read (every write re-checks it in its filter)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from chat.models import RoomStatus

CLOSED = RoomStatus.CLOSED.value
ROOMS_REMEMBERED = 50_000
# What the writer reads of a room when it must (one ``find`` by ``_id``).
ROOM_FIELDS = {
    "last_seq": 1,
    "status": 1,
    "watermarks": 1,
    "customer_id": 1,
    "agent_id": 1,
    "first_agent_reply_at": 1,
}
# Room fields a change may set only while still null.
ONCE_FIELDS = ("first_agent_reply_at",)


@dataclass
class RoomState:
    last_seq: int
    closed: bool = False
    once_set: set[str] = field(default_factory=set)
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)


class RoomStates:
    """The rooms this process wrote or read lately (an LRU). Only ever a guess: every
    write re-checks it in its filter."""

    def __init__(self, size: int = ROOMS_REMEMBERED) -> None:
        self._rooms: OrderedDict[ObjectId, RoomState] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, room_id: ObjectId) -> RoomState | None:
        with self._lock:
            state = self._rooms.get(room_id)
            if state is not None:
                self._rooms.move_to_end(room_id)
            return state

    def put(self, room_id: ObjectId, state: RoomState) -> None:
        with self._lock:
            self._rooms[room_id] = state
            self._rooms.move_to_end(room_id)
            while len(self._rooms) > self._size:
                self._rooms.popitem(last=False)

    def note(self, doc: dict[str, Any], *, once_fields: Iterable[str] = ()) -> RoomState:
        """Remember a room document as read. Merged, never moved back: everything kept
        here only grows (the seq, closed, set-once fields, watermarks), so a read that
        raced with this process's own write cannot undo what the write taught."""
        with self._lock:
            state = self._rooms.get(doc["_id"])
            if state is None:
                state = self._rooms[doc["_id"]] = RoomState(last_seq=0)
            self._rooms.move_to_end(doc["_id"])
            while len(self._rooms) > self._size:
                self._rooms.popitem(last=False)
            state.last_seq = max(state.last_seq, int(doc.get("last_seq") or 0))
            state.closed = state.closed or doc.get("status") == CLOSED
            state.once_set.update(name for name in once_fields if doc.get(name) is not None)
            for uid, mark in (doc.get("watermarks") or {}).items():
                if isinstance(mark, dict):
                    old = state.marks.get(uid, (0, 0))
                    new = (int(mark.get("delivered", 0)), int(mark.get("read", 0)))
                    state.marks[uid] = (max(old[0], new[0]), max(old[1], new[1]))
            return state

    def forget(self, room_ids: Iterable[ObjectId]) -> None:
        with self._lock:
            for room_id in room_ids:
                self._rooms.pop(room_id, None)

    def clear(self) -> None:
        with self._lock:
            self._rooms.clear()
