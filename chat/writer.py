"""The timeline writer: every change to a room's history, from every path (socket, REST,
routing, admin, commands), is written here, and its caller returns only once the write
is durable.

**Group commit.** One writer thread per process takes every change waiting and writes
them as ONE ordered ``bulkWrite`` command with the configured write concern
(``MONGODB_WRITE_CONCERN``, by default ``w: "majority", j: true``). A lone change goes
at once; while a round is on its way the next one collects, so a busy process writes
many changes per round trip. A caller waits for its own outcome, at most
``MONGODB_WRITE_TIMEOUT_SECONDS`` (then ``service_unavailable``).

**One round**, in this order:

1. receipts: ``$max`` of a participant's watermarks, filtered on the participant and on
   ``last_seq >= target`` (a receipt never runs ahead of the room and never errs);
2. per room, in the order the changes arrived:
   - the send key of each message (an insert of ``chat_sendkey``, ``_id`` = the
     (room, sender, client_msg_id) key): a duplicate is a retry, found before any seq
     is taken;
   - the seq compare-and-set, ``{_id, last_seq: n, status != closed, <require>}`` ->
     ``{last_seq: n + k, <the changes' room fields>}``, one for consecutive changes that
     leave the room's status and agent alone;
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

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bson import Int64, ObjectId
from django.conf import settings
from django.db import connections
from django.utils import timezone
from pymongo import DeleteOne, InsertOne, UpdateOne, WriteConcern
from pymongo.errors import ClientBulkWriteException, PyMongoError

from chat.models import EventKind, Room, RoomEvent, RoomStatus, SendKey
from chat_project import fanout
from chat_project.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CLOSED = RoomStatus.CLOSED.value
DUPLICATE_KEY = 11000
# Rounds one change may lose to other writers of its room before it gives up.
SEQ_ATTEMPTS = 50
ROOMS_REMEMBERED = 50_000


# --- what callers submit ------------------------------------------------------------------


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
    while still null (an agent's first reply). ``idem_key``: a send's exactly-once key.
    ``on_written(event)`` runs once the write is durable, in seq order among the round's
    changes (publishing)."""

    room_id: ObjectId
    event: RoomEvent
    require: dict[str, Any] = field(default_factory=dict)
    set_fields: dict[str, Any] = field(default_factory=dict)
    set_once: dict[str, Any] = field(default_factory=dict)
    idem_key: str | None = None
    target: Target | None = None
    known_seq: int | None = None
    on_written: Callable[[RoomEvent], None] | None = None


@dataclass(eq=False)
class Place:
    """Insert ``event`` at the seq it carries, one its caller already holds (a change
    that stopped with :class:`TargetMissed`) or a hole's (a ``noop`` filler); optionally
    after a guarded :class:`Target` update."""

    event: RoomEvent
    target: Target | None = None
    on_written: Callable[[RoomEvent], None] | None = None


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


# --- what callers get back ----------------------------------------------------------------


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


# --- what the writer remembers of rooms -------------------------------------------------


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


# --- one submitted change inside the writer ------------------------------------------------


@dataclass(eq=False)
class _Item:
    """A change on its way. ``waiter``: a caller waits for it (clean-ups and fillers the
    writer makes itself have none)."""

    op: Append | Place | Receipt | list[DeleteOne]
    waiter: bool = True
    loop: Any = None  # the submitting thread's event loop, for publishing
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


def _internal(op: Place | list[DeleteOne]) -> _Item:
    return _Item(op=op, waiter=False)


ROOM_FIELDS = {
    "last_seq": 1,
    "status": 1,
    "watermarks": 1,
    "customer_id": 1,
    "agent_id": 1,
    "first_agent_reply_at": 1,
}
ONCE_FIELDS = ("first_agent_reply_at",)


class TimelineWriter:
    def __init__(self) -> None:
        self.rooms = RoomStates()
        self._queue: list[_Item] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.rounds = 0  # commands sent (tests and benchmarks read it)

    # -- the callers' side

    def submit(self, op: Append | Place | Receipt, *, timeout: float | None = None) -> Outcome:
        """Write ``op`` with whatever else is waiting and return its outcome once durable.
        A database that does not answer within ``timeout`` (default
        ``MONGODB_WRITE_TIMEOUT_SECONDS``) is ``service_unavailable``; the change may
        still be written later (a send's retry then finds it by its key)."""
        item = _Item(op=op, loop=fanout.caller_loop())
        with self._cond:
            self._ensure_thread()
            self._queue.append(item)
            self._cond.notify()
        wait = settings.MONGODB_WRITE_TIMEOUT_SECONDS if timeout is None else timeout
        if not item.done.wait(wait):
            with self._cond:
                item.abandoned = not item.done.is_set()
            if item.abandoned:
                raise ServiceUnavailable("The database did not answer in time; try again.")
        if isinstance(item.outcome, BaseException):
            raise item.outcome
        assert item.outcome is not None
        return item.outcome

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
        carry: list[_Item] = []
        while True:
            with self._cond:
                while not self._queue and not carry:
                    self._cond.wait()
                batch, self._queue = carry + self._queue, []
                # Given up by its caller before anything of it was written: dropped.
                batch = [item for item in batch if not (item.abandoned and not item.started)]
            try:
                carry = self._round(batch) if batch else []
            except Exception as exc:  # a bug: fail this round, keep the writer alive
                logger.exception("timeline writer round failed")
                for item in batch:
                    if not item.done.is_set():
                        item.finish(ServiceUnavailable(f"The write failed ({type(exc).__name__})."))
                self.rooms.clear()
                carry = []

    def _round(self, items: list[_Item]) -> list[_Item]:
        """Write one round; return what is left for the next one."""
        client, db_name = _database()
        plan = _RoundPlan(self, client, db_name)
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


def event_document(event: RoomEvent) -> dict[str, Any]:
    """The document ``event.save(force_insert=True)`` would store (each field's own
    ``pre_save`` and ``get_db_prep_save``, search terms included), with its ``_id`` chosen
    here so that it is known before the insert."""
    connection = connections["default"]
    if event.pk is None:
        event.pk = ObjectId()
    doc = {
        field.column: field.get_db_prep_save(field.pre_save(event, True), connection)
        for field in RoomEvent._meta.concrete_fields
        if not field.primary_key
    }
    doc["_id"] = event.pk
    return doc


# --- building and settling one round ------------------------------------------------------


@dataclass(eq=False)
class _Segment:
    """Consecutive changes of one room that take their seqs in one compare-and-set."""

    room_id: ObjectId
    first_seq: int
    items: list[_Item]


class _RoundPlan:
    def __init__(self, writer: TimelineWriter, client: Any, db_name: str) -> None:
        self.writer = writer
        self.client = client
        self.db_name = db_name
        self.ns_rooms = f"{db_name}.{Room._meta.db_table}"
        self.ns_events = f"{db_name}.{RoomEvent._meta.db_table}"
        self.ns_keys = f"{db_name}.{SendKey._meta.db_table}"
        self.items: list[_Item] = []
        self.steps: list[tuple[str, Any]] = []  # per model: (kind, item or segment)
        self.next_round: list[_Item] = []  # made while settling: clean-ups, fillers
        self.rooms_touched: set[ObjectId] = set()
        self._models: list[Any] = []

    # -- collecting

    def add(self, item: _Item) -> None:
        self.items.append(item)

    def read_rooms(self, room_ids: set[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
        collection = self.client[self.db_name][Room._meta.db_table]
        found = {}
        for doc in collection.find({"_id": {"$in": list(room_ids)}}, ROOM_FIELDS):
            found[doc["_id"]] = doc
            self.writer.rooms.note(doc, once_fields=ONCE_FIELDS)
        return found

    def read_unknown_rooms(self, items: list[_Item]) -> None:
        """Rooms whose seq nobody knows: one ``find`` by ``_id`` for all of them."""
        rooms = self.writer.rooms
        waiting = [
            item
            for item in items
            if isinstance(item.op, Append)
            and not item.seq_held
            and not item.done.is_set()
            and item.op.known_seq is None
            and rooms.get(item.op.room_id) is None
        ]
        if not waiting:
            return
        found = self.read_rooms({item.op.room_id for item in waiting})
        for item in waiting:
            if item.op.room_id not in found:
                self._refuse(item, None)

    # -- building the command

    def _step(self, kind: str, subject: Any, model: Any) -> None:
        self._models.append(model)
        self.steps.append((kind, subject))

    def build(self) -> list[Any]:
        receipts = [i for i in self.items if isinstance(i.op, Receipt)]
        places = [i for i in self.items if isinstance(i.op, Place)]
        cleanups = [i for i in self.items if isinstance(i.op, list)]
        by_room: OrderedDict[ObjectId, list[_Item]] = OrderedDict()
        for item in self.items:
            if isinstance(item.op, Append):
                by_room.setdefault(item.op.room_id, []).append(item)
        for item in receipts:
            self._step("receipt", item, self._receipt_model(item.op))
        for room_id, items in by_room.items():
            self.rooms_touched.add(room_id)
            self._build_room(room_id, items)
        for item in places:
            op: Place = item.op
            self.rooms_touched.add(op.event.room_id)
            if op.target is not None and not item.target_written:
                self._step("target", item, self._target_model(op.target, op.event.seq))
            self._step("place", item, InsertOne(event_document(op.event), namespace=self.ns_events))
        for item in cleanups:
            for model in item.op:
                self._step("cleanup", item, model)
        return self._models

    def _receipt_model(self, op: Receipt) -> UpdateOne:
        uid = str(op.user_id)
        marks = {f"watermarks.{uid}.delivered": Int64(op.delivered)}
        if op.read is not None:
            marks[f"watermarks.{uid}.read"] = Int64(op.read)
        return UpdateOne(
            {"_id": op.room_id, op.participant: op.user_id, "last_seq": {"$gte": op.delivered}},
            {"$max": marks},
            namespace=self.ns_rooms,
        )

    def _target_model(self, target: Target, seq: int) -> UpdateOne:
        condition, update = target.build(seq)
        return UpdateOne(
            {"_id": target.event_id, **condition}, update, upsert=True, namespace=self.ns_events
        )

    def _build_room(self, room_id: ObjectId, items: list[_Item]) -> None:
        # Changes that hold their seq already (a stop left their target or event unrun).
        for item in items:
            if item.seq_held:
                self._event_steps(item)
        waiting = [item for item in items if not item.seq_held]
        for item in waiting:
            if item.op.idem_key is not None and not item.key_written:
                key = {"_id": item.op.idem_key, "room_id": room_id}
                self._step("key", item, InsertOne(key, namespace=self.ns_keys))
        state = self.writer.rooms.get(room_id)
        known = max((item.op.known_seq or 0 for item in waiting), default=0)
        last_seq = max(state.last_seq if state else 0, known)
        for members in _segments(waiting):
            segment = _Segment(room_id=room_id, first_seq=last_seq + 1, items=members)
            self._step("cas", segment, self._cas_model(segment, state, last_seq))
            for offset, item in enumerate(members):
                item.seq = segment.first_seq + offset
                self._event_steps(item)
            last_seq += len(members)

    def _cas_model(self, segment: _Segment, state: RoomState | None, last_seq: int) -> UpdateOne:
        condition: dict[str, Any] = {
            "_id": segment.room_id,
            "last_seq": last_seq,
            "status": {"$ne": CLOSED},
        }
        changes: dict[str, Any] = {
            "last_seq": Int64(last_seq + len(segment.items)),
            "seq_at": timezone.now(),  # how old a hole is (chat.holes)
        }
        for item in segment.items:
            condition.update(item.op.require)
            changes.update(item.op.set_fields)
            for name, value in item.op.set_once.items():
                if state is None or name not in state.once_set:
                    condition[name] = None
                    changes.setdefault(name, value)
        return UpdateOne(condition, {"$set": changes}, upsert=True, namespace=self.ns_rooms)

    def _event_steps(self, item: _Item) -> None:
        op: Append = item.op
        op.event.seq = item.seq
        if op.target is not None and not item.target_written:
            self._step("target", item, self._target_model(op.target, item.seq))
        self._step("event", item, InsertOne(event_document(op.event), namespace=self.ns_events))

    # -- settling the outcome

    def settle(self, result: Any, error: dict[str, Any] | None) -> list[_Item]:
        """Every step before ``error`` succeeded, the one at ``error`` failed, the ones
        after it did not run."""
        failed_at = error["idx"] if error is not None else len(self.steps)
        updates = getattr(result, "update_results", None) or {}
        written: list[_Item] = []
        finished_internal: set[int] = set()
        for index, (kind, subject) in enumerate(self.steps[:failed_at]):
            if kind == "receipt":
                self._receipt_written(subject, updates.get(index))
            elif kind == "key":
                subject.key_written = True
            elif kind == "cas":
                if getattr(updates.get(index), "upserted_id", None) is not None:
                    self._room_gone(subject)
                else:
                    self._seq_taken(subject)
            elif kind == "target":
                subject.target_written = True
                if getattr(updates.get(index), "upserted_id", None) is not None:
                    # The message did not exist: the upsert made a stray document.
                    stray = {"_id": subject.op.target.event_id, "room_id": None}
                    self.next_round.append(_internal([DeleteOne(stray, namespace=self.ns_events)]))
            elif kind in ("event", "place"):
                written.append(subject)
            else:  # a clean-up's delete
                finished_internal.add(id(subject))
        if error is not None:
            self._failed(*self.steps[failed_at], error)
        self._publish(written)
        return self.leftover(unrun_from=failed_at + (error is not None))

    def leftover(self, unrun_from: int | None = None) -> list[_Item]:
        """What goes into the next round: changes not done yet (a provisional seq whose
        compare-and-set did not run is dropped), internal items whose steps did not all
        run, and what settling made."""
        unrun = set()
        if unrun_from is not None:
            unrun = {id(subject) for _kind, subject in self.steps[unrun_from:]}
        keep: list[_Item] = []
        for item in self.items:
            if item.waiter and item.done.is_set():
                continue
            if not item.waiter and unrun_from is not None and id(item) not in unrun:
                continue  # its steps ran (a filler that found its seq taken is done too)
            if isinstance(item.op, Append) and not item.seq_held:
                item.seq = None
            keep.append(item)
        return keep + self.next_round

    def unknown_outcome(self, exc: Exception) -> list[_Item]:
        """The command failed as a whole (timeout, lost connection, a stalled or crashed
        database): what it wrote is unknown. Everyone in it gets ``service_unavailable``
        and the rooms are forgotten. A retried send is found by its key; a seq taken
        without its event is a hole that ``chat.holes`` fills."""
        logger.warning("timeline round of %d changes failed: %r", len(self.items), exc)
        self.writer.rooms.forget(self.rooms_touched)
        for item in self.items:
            if item.waiter and not item.done.is_set():
                item.finish(ServiceUnavailable("The database is unavailable; try again."))
        return []

    def _refuse(
        self, item: _Item, room: dict[str, Any] | None, *, outcome: Exception | None = None
    ) -> None:
        if item.key_written:
            key = DeleteOne({"_id": item.op.idem_key}, namespace=self.ns_keys)
            self.next_round.append(_internal([key]))
        item.seq, item.seq_held = None, False
        item.finish(outcome or Refused(room))

    def _seq_taken(self, segment: _Segment) -> None:
        rooms = self.writer.rooms
        state = rooms.get(segment.room_id) or RoomState(last_seq=0)
        state.last_seq = segment.first_seq + len(segment.items) - 1
        for item in segment.items:
            item.seq_held = True
            state.once_set.update(item.op.set_once)
            if item.op.set_fields.get("status") == CLOSED:
                state.closed = True
        rooms.put(segment.room_id, state)

    def _room_gone(self, segment: _Segment) -> None:
        """The room did not exist, so the compare-and-set's upsert made one (and the
        events after it went in): undo both and refuse."""
        seqs = range(segment.first_seq, segment.first_seq + len(segment.items))
        undo = [DeleteOne({"_id": segment.room_id, "created_at": None}, namespace=self.ns_rooms)]
        undo += [
            DeleteOne({"room_id": segment.room_id, "seq": seq}, namespace=self.ns_events)
            for seq in seqs
        ]
        self.next_round.append(_internal(undo))
        self.writer.rooms.forget([segment.room_id])
        for item in segment.items:
            self._refuse(item, None)

    def _receipt_written(self, item: _Item, result: Any) -> None:
        op: Receipt = item.op
        matched = bool(getattr(result, "matched_count", 0))
        moved = bool(getattr(result, "modified_count", 0))
        state = self.writer.rooms.get(op.room_id)
        uid = str(op.user_id)
        delivered, read = state.marks.get(uid, (0, 0)) if state else (0, 0)
        if matched:
            read = max(read, op.read or 0)
            delivered = max(delivered, op.delivered, read)
            if state is not None:
                state.marks[uid] = (delivered, read)
        item.finish(ReceiptWritten(matched=matched, moved=moved, delivered=delivered, read=read))

    def _failed(self, kind: str, subject: Any, error: dict[str, Any]) -> None:
        duplicate = error.get("code") == DUPLICATE_KEY
        if kind == "cas" and duplicate:
            self._seq_lost(subject)
        elif kind == "key" and duplicate:
            subject.finish(Duplicate())
        elif kind == "target" and duplicate:
            held = subject.seq if isinstance(subject.op, Append) else subject.op.event.seq
            subject.finish(TargetMissed(seq=held))
        elif kind == "place" and duplicate:
            if subject.waiter:
                subject.finish(Occupied())
        elif kind == "event" and duplicate:
            self._event_collided(subject, error)
        else:
            logger.error("timeline write failed at a %s step: %s", kind, error)
            items = subject.items if isinstance(subject, _Segment) else [subject]
            for item in items:
                if item.waiter:
                    item.finish(ServiceUnavailable("The write failed; try again."))

    def _seq_lost(self, segment: _Segment) -> None:
        """The compare-and-set did not match: read the room and settle each change."""
        doc = self.read_rooms({segment.room_id}).get(segment.room_id)
        for item in segment.items:
            op: Append = item.op
            item.seq = None
            item.attempts += 1
            closed = doc is None or doc.get("status") == CLOSED
            if closed or any(doc.get(name) != value for name, value in op.require.items()):
                self._refuse(item, doc)
            elif item.attempts >= SEQ_ATTEMPTS:
                busy = ServiceUnavailable("The room is too busy; try again.")
                self._refuse(item, doc, outcome=busy)
            # else: a stale seq or a set-once field set meanwhile: again next round

    def _event_collided(self, item: _Item, error: dict[str, Any]) -> None:
        if "idem_key" in (error.get("keyPattern") or {}):
            # A message with this key exists (sent before send keys existed, or its key
            # was discarded as stale meanwhile): a retry. The seq it took gets a filler.
            filler = RoomEvent(room_id=item.op.room_id, seq=item.seq, kind=EventKind.NOOP)
            self.next_round.append(_internal(Place(event=filler)))
            item.finish(Duplicate())
            return
        # (room_id, seq): the seq was filled as a settled hole meanwhile; take another.
        item.seq, item.seq_held = None, False

    def _publish(self, written: list[_Item]) -> None:
        # In seq order per room, so that a room's events leave the process in order.
        written.sort(key=lambda item: (str(item.op.event.room_id), item.op.event.seq))
        for item in written:
            event = item.op.event
            event._state.adding = False
            if item.op.on_written is not None:
                with fanout.publishing_on(item.loop):
                    try:
                        item.op.on_written(event)
                    except Exception:  # written; a lost publish is caught up by replay
                        logger.warning("publishing %s failed", event, exc_info=True)
            if item.waiter:
                item.finish(Appended(event) if isinstance(item.op, Append) else Placed(event))


def _segments(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive changes that can share one compare-and-set: a change that sets room
    fields ends its segment (later ones are checked against the room it leaves), and
    two requirements on one field with different values cannot share one."""
    segments: list[list[_Item]] = []
    current: list[_Item] = []
    required: dict[str, Any] = {}
    for item in items:
        op: Append = item.op
        if current and any(required.get(k, v) != v for k, v in op.require.items()):
            segments.append(current)
            current, required = [], {}
        current.append(item)
        required.update(op.require)
        if op.set_fields:
            segments.append(current)
            current, required = [], {}
    if current:
        segments.append(current)
    return segments


_writer = TimelineWriter()


def timeline_writer() -> TimelineWriter:
    return _writer
