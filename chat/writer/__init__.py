"""The timeline writer: every change to a room's history, from every path (socket, REST,
routing, admin, commands), is written here, and its caller returns only once the write
is durable.

**Group commit.** One writer thread per process takes every change waiting and writes
them as ONE ordered ``bulkWrite`` command with the configured write concern
(``MONGODB_WRITE_CONCERN``, by default ``w: "majority", j: true``). A lone change goes
at once; while a round is on its way the next one collects, so a busy process writes
many changes per round trip. A caller waits for its own outcome, at most
``MONGODB_WRITE_TIMEOUT_SECONDS`` (then ``service_unavailable``): a thread blocks in
:meth:`TimelineWriter.submit`, an event loop awaits :meth:`TimelineWriter.submit_async`
(the gateway's sends and receipts, ``chat.writer.steps``).

**One round**, in this order:

1. receipts: ``$max`` of a participant's watermarks, filtered on the participant and on
   ``last_seq >= target`` (a receipt never runs ahead of the room and never errs);
2. per room, in the order the changes arrived:
   - the send key of each message (an insert of ``chat_sendkey``, ``_id`` = the
     (room, sender, client_msg_id) key): a duplicate is a retry, found before any seq
     is taken;
   - the seq compare-and-set, ``{_id, last_seq: n, status != closed, <require>}`` ->
     ``{last_seq: n + k, <the changes' room fields>}``, one for consecutive changes that
     leave the room's status and agent alone (a change of an array field, a room's
     tags, has one of its own; so has a satisfaction rating, the one change written to
     a closed room: ``Append.allow_closed`` drops ``status != closed`` from its filter);
   - per change, the guarded update of the message it edits or deletes, then the
     insert of its event at its seq;
3. placements: an event at a seq its caller already holds (a ``noop`` filler, or an edit
   whose guarded update missed);
4. clean-up: send keys of changes that were refused.

**Why ordered, with upserts.** A condition that must hold (the compare-and-set, an edit's
guard) is an *upsert* whose filter names ``_id``: when the document exists but does not
match, the upsert's insert collides with that ``_id`` (E11000) and an ordered bulk stops
at that op. So nothing after a failed condition runs: no event without its seq, no seq
taken for a retry. The writer then reads what it needs (the room, by ``_id``), settles the
stopped change (again at the room's current seq, or refused: closed, not a participant,
gone) and sends whatever the stop left unrun in the next round, with the changes that
arrived meanwhile. A bad change fails alone; its round-mates only wait one more round.

**Crash points.** A round is one command: a process (or a client timeout) that gives up
after sending it leaves the server to apply all of it. Only a database crash can stop a
round half-way, and the order of the steps bounds what that leaves: send keys without
their seq (a retry finds no event, and the key is discarded: ``chat.services``); a seq
without its event (a hole, filled with a ``noop`` once settled: ``chat.holes``); an
edited message without its ``message_edited`` event (replay rebuilds it from the
message's ``text_seq`` / ``deleted_seq``: ``chat.selectors.room_events_after``).

What the writer knows of a room (its ``last_seq``, whether it is closed, which
set-once fields are set, receipt watermarks) only saves reads: every write re-checks it
in its filter. Callers that know more (a socket that follows the room) pass
``known_seq``; nothing else differs by path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connections
from pymongo import WriteConcern
from pymongo.errors import ClientBulkWriteException, PyMongoError

from chat.models import Room
from chat.writer.ops import (
    Append,
    Appended,
    Duplicate,
    Occupied,
    Outcome,
    Place,
    Placed,
    Receipt,
    ReceiptWritten,
    Refused,
    Target,
    TargetMissed,
)
from chat.writer.rooms import ONCE_FIELDS, RoomStates
from chat.writer.rounds import SEQ_ATTEMPTS, Item, RoundPlan
from chat_project import deadlines, fanout, metrics
from chat_project.errors import ServiceUnavailable

__all__ = [
    "SEQ_ATTEMPTS",
    "Append",
    "Appended",
    "Duplicate",
    "Occupied",
    "Outcome",
    "Place",
    "Placed",
    "Receipt",
    "ReceiptWritten",
    "Refused",
    "Target",
    "TargetMissed",
    "TimelineWriter",
    "timeline_writer",
]

logger = logging.getLogger(__name__)


class TimelineWriter:
    def __init__(self) -> None:
        self.rooms = RoomStates()
        self._queue: list[Item] = []
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # the writer thread waits for work on it
        self._idle = threading.Condition(lock)  # wait_idle() waits for the end of a round
        self._writing = False  # a batch taken from the queue is not settled yet
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.rounds = 0  # commands sent (tests and benchmarks read it)

    # -- the callers' side

    def submit(self, op: Append | Place | Receipt, *, timeout: float | None = None) -> Outcome:
        """Write ``op`` with whatever else is waiting and return its outcome once durable.
        A database that does not answer within ``timeout`` (default
        ``MONGODB_WRITE_TIMEOUT_SECONDS``) is ``service_unavailable``; the change may
        still be written later (a send's retry then finds it by its key)."""
        deadlines.check()  # a request past its deadline hands nothing over
        item = Item(op=op, loop=fanout.caller_loop())
        with self._cond:
            self._ensure_thread()
            self._queue.append(item)
            self._cond.notify()
        wait = settings.MONGODB_WRITE_TIMEOUT_SECONDS if timeout is None else timeout
        if not item.done.wait(deadlines.remaining(wait)):
            with self._cond:
                item.abandoned = not item.done.is_set()
            if item.abandoned:
                raise ServiceUnavailable("The database did not answer in time; try again.")
        if isinstance(item.outcome, BaseException):
            raise item.outcome
        assert item.outcome is not None
        return item.outcome

    async def submit_async(self, op: Append | Place | Receipt) -> Outcome:
        """:meth:`submit` for a caller on an event loop: the loop awaits the outcome
        (resolved by the writer thread), no thread waits for it; the same bound, or the
        request's deadline when sooner (``chat_project.deadlines``). A caller that stops
        waiting for another reason (its socket closed) leaves the change to be written:
        its client retries it with the same key."""
        deadlines.check()
        loop = asyncio.get_running_loop()
        item = Item(op=op, loop=loop, future=loop.create_future())
        with self._cond:
            self._ensure_thread()
            self._queue.append(item)
            self._cond.notify()
        wait = deadlines.remaining(settings.MONGODB_WRITE_TIMEOUT_SECONDS)
        timer = loop.call_later(wait, self._expire, item)
        try:
            return await item.future
        finally:
            timer.cancel()

    def _expire(self, item: Item) -> None:
        # On the caller's loop: as in submit(), a change the writer has not finished by
        # the bound is given up (dropped if not started), and its caller told so.
        with self._cond:
            item.abandoned = not item.done.is_set()
        if item.abandoned and not item.future.done():
            item.future.set_exception(
                ServiceUnavailable("The database did not answer in time; try again.")
            )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being written, at most ``timeout`` seconds
        (a process that drains: every change accepted so far is written and its caller
        answered). True when idle, False when the bound ran out first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queue or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def pending(self) -> int:
        """Changes waiting for the next round (metrics)."""
        return len(self._queue)

    def note_room(self, room: Room) -> None:
        """Remember a room the caller just read (a socket joining it): the room's first
        change then needs no read of its own."""
        self.rooms.note(
            {
                "_id": room.pk,
                "last_seq": room.last_seq,
                "status": room.status,
                "watermarks": room.watermarks,
                "first_agent_reply_at": room.first_agent_reply_at,
            },
            once_fields=ONCE_FIELDS,
        )

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._queue = [item for item in self._queue if item.waiter]  # none from a parent
        self._thread = threading.Thread(target=self._run, name="timeline-writer", daemon=True)
        self._thread.start()

    # -- the writer thread

    def _run(self) -> None:
        carry: list[Item] = []
        while True:
            with self._cond:
                while not self._queue and not carry:
                    self._cond.wait()
                batch, self._queue = carry + self._queue, []
                self._writing = True
                # Given up by its caller before anything of it was written: dropped.
                batch = [item for item in batch if not (item.abandoned and not item.started)]
            try:
                with metrics.writer_round_seconds.time():
                    carry = self._round(batch) if batch else []
            except Exception as exc:  # a bug: fail this round, keep the writer alive
                logger.exception("timeline writer round failed")
                for item in batch:
                    if not item.done.is_set():
                        item.finish(ServiceUnavailable(f"The write failed ({type(exc).__name__})."))
                self.rooms.clear()
                carry = []
            with self._idle:
                self._writing = bool(carry)
                if not self._writing and not self._queue:
                    self._idle.notify_all()

    def _round(self, items: list[Item]) -> list[Item]:
        """Write one round; return what is left for the next one."""
        metrics.writer_round_changes.observe(len(items))
        client, db_name = _database()
        plan = RoundPlan(self, client, db_name)
        plan.read_unknown_rooms(items)
        for item in items:
            if not (item.waiter and item.done.is_set()):
                plan.add(item)
        models = plan.build()
        if not models:
            return plan.leftover()
        try:
            result = client.bulk_write(
                models,
                ordered=True,
                verbose_results=True,
                write_concern=WriteConcern(**settings.MONGODB_WRITE_CONCERN),
            )
            error = None
        except ClientBulkWriteException as exc:
            result, error = exc.partial_result, (exc.write_errors or [None])[0]
            if error is None:  # a write concern error: applied, not known to be durable
                return plan.unknown_outcome(exc)
        except PyMongoError as exc:
            return plan.unknown_outcome(exc)
        self.rounds += 1
        return plan.settle(result, error)


def _database() -> tuple[Any, str]:
    connection = connections["default"]
    connection.ensure_connection()
    return connection.connection, connection.settings_dict["NAME"]


_writer = TimelineWriter()


def timeline_writer() -> TimelineWriter:
    return _writer
