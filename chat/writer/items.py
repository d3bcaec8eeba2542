"""A change on its way through the writer (its progress across rounds), and the event
document it inserts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pymongo import DeleteOne

from chat.models import RoomEvent
from chat.writer.ops import Append, Outcome, Place, Receipt
from chat_project import mongo


@dataclass(eq=False)
class Item:
    """A change on its way. ``waiter``: a caller waits for it (clean-ups and fillers the
    writer makes itself have none)."""

    op: Append | Place | Receipt | list[DeleteOne]
    waiter: bool = True
    loop: Any = None  # the submitting thread's event loop, for publishing
    # A caller on that loop awaits this instead of waiting on ``done`` (submit_async).
    future: Any = None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | BaseException | None = None
    abandoned: bool = False
    # An Append's progress across rounds.
    key_written: bool = False
    seq: int | None = None  # provisional until ``seq_held``
    seq_held: bool = False
    target_written: bool = False
    attempts: int = 0

    @property
    def started(self) -> bool:
        return self.key_written or self.seq_held

    def finish(self, outcome: Outcome | BaseException) -> None:
        self.outcome = outcome
        self.done.set()
        if self.future is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future, outcome)


def _resolve(future: Any, outcome: Outcome | BaseException) -> None:
    if future.done():  # given up (timeout) or cancelled (the socket closed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def internal(op: Place | list[DeleteOne]) -> Item:
    return Item(op=op, waiter=False)


def event_document(event: RoomEvent) -> dict[str, Any]:
    """The document ``event.save(force_insert=True)`` would store, search terms included,
    with its ``_id`` known before the insert."""
    return mongo.document_of(event)
