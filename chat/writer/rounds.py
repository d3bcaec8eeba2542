"""One round of the timeline writer: the ordered ``bulkWrite`` built from the changes
waiting (:meth:`RoundPlan.build`), and what its result means for each of them
(:meth:`RoundPlan.settle`). The order of the steps, and why a failed condition stops the
rest, is in ``chat.writer``'s docstring."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bson import Int64, ObjectId
from django.utils import timezone
from pymongo import DeleteOne, InsertOne, UpdateOne

from chat import events
from chat.models import EventKind, Room, RoomEvent, SendKey
from chat.writer.items import Item, event_document, internal
from chat.writer.ops import (
    Append,
    Appended,
    Duplicate,
    Occupied,
    Place,
    Placed,
    Receipt,
    ReceiptWritten,
    Refused,
    Target,
    TargetMissed,
)
from chat.writer.rooms import CLOSED, ONCE_FIELDS, ROOM_FIELDS, RoomState
from chat_project.errors import ServiceUnavailable

if TYPE_CHECKING:
    from chat.writer import TimelineWriter

logger = logging.getLogger(__name__)

DUPLICATE_KEY = 11000
# Rounds one change may lose to other writers of its room before it gives up.
SEQ_ATTEMPTS = 50


@dataclass(eq=False)
class _Segment:
    """Consecutive changes of one room that take their seqs in one compare-and-set."""

    room_id: ObjectId
    first_seq: int
    items: list[Item]


class RoundPlan:
    def __init__(self, writer: TimelineWriter, client: Any, db_name: str) -> None:
        self.writer = writer
        self.client = client
        self.db_name = db_name
        self.ns_rooms = f"{db_name}.{Room._meta.db_table}"
        self.ns_events = f"{db_name}.{RoomEvent._meta.db_table}"
        self.ns_keys = f"{db_name}.{SendKey._meta.db_table}"
        self.items: list[Item] = []
        self.steps: list[tuple[str, Any]] = []  # per model: (kind, item or segment)
        self.next_round: list[Item] = []  # made while settling: clean-ups, fillers
        self.rooms_touched: set[ObjectId] = set()
        self._models: list[Any] = []

    # -- collecting

    def add(self, item: Item) -> None:
        self.items.append(item)

    def read_rooms(self, room_ids: set[ObjectId], *, also: set[str] = frozenset()) -> dict:
        """The rooms by ``_id``: the writer's fields, and ``also`` (what a stopped change
        requires: a stale seq is told from a requirement that fails)."""
        collection = self.client[self.db_name][Room._meta.db_table]
        fields = {**ROOM_FIELDS, **dict.fromkeys(also, 1)}
        found = {}
        for doc in collection.find({"_id": {"$in": list(room_ids)}}, fields):
            found[doc["_id"]] = doc
            self.writer.rooms.note(doc, once_fields=ONCE_FIELDS)
        return found

    def read_unknown_rooms(self, items: list[Item]) -> None:
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
        by_room: OrderedDict[ObjectId, list[Item]] = OrderedDict()
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
            self._room_update_step(item, op.event.room_id)
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

    def _build_room(self, room_id: ObjectId, items: list[Item]) -> None:
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
            for offset, item in enumerate(members):
                item.seq = item.op.event.seq = segment.first_seq + offset
            self._step("cas", segment, self._cas_model(segment, state, last_seq))
            for item in members:
                self._event_steps(item)
            last_seq += len(members)

    def _cas_model(self, segment: _Segment, state: RoomState | None, last_seq: int) -> UpdateOne:
        condition: dict[str, Any] = {"_id": segment.room_id, "last_seq": last_seq}
        # A rating (``allow_closed``) is alone in its segment (``_segments``): no other
        # change ever rides on a compare-and-set without this condition.
        if not any(item.op.allow_closed for item in segment.items):
            condition["status"] = {"$ne": CLOSED}
        changes: dict[str, Any] = {
            "last_seq": Int64(last_seq + len(segment.items)),
            "seq_at": timezone.now(),  # how old a hole is (chat.holes)
        }
        update: dict[str, Any] = {"$set": changes}
        for item in segment.items:
            condition.update(item.op.require)
            changes.update(item.op.set_fields)
            if item.op.stamp is not None:
                changes.update(item.op.stamp(item.op.event))
            for name, value in item.op.set_once.items():
                if state is None or name not in state.once_set:
                    condition[name] = None
                    changes.setdefault(name, value)
            for name, values in item.op.add_to_set.items():
                update.setdefault("$addToSet", {})[name] = {"$each": list(values)}
            for name, values in item.op.pull.items():
                update.setdefault("$pull", {})[name] = {"$in": list(values)}
        return UpdateOne(condition, update, upsert=True, namespace=self.ns_rooms)

    def _event_steps(self, item: Item) -> None:
        op: Append = item.op
        op.event.seq = item.seq
        if op.target is not None and not item.target_written:
            self._step("target", item, self._target_model(op.target, item.seq))
        self._step("event", item, InsertOne(event_document(op.event), namespace=self.ns_events))
        self._room_update_step(item, op.room_id)

    def _room_update_step(self, item: Item, room_id: ObjectId) -> None:
        if item.op.room_update is not None:
            condition, update = item.op.room_update
            model = UpdateOne({"_id": room_id, **condition}, update, namespace=self.ns_rooms)
            self._step("room_update", item, model)

    # -- settling the outcome

    def settle(self, result: Any, error: dict[str, Any] | None) -> list[Item]:
        """Every step before ``error`` succeeded, the one at ``error`` failed, the ones
        after it did not run."""
        failed_at = error["idx"] if error is not None else len(self.steps)
        updates = getattr(result, "update_results", None) or {}
        written: list[Item] = []
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
                    self.next_round.append(internal([DeleteOne(stray, namespace=self.ns_events)]))
            elif kind in ("event", "place"):
                written.append(subject)
            elif kind == "room_update":
                pass  # nothing to settle: it applies or matches nothing
            else:  # a clean-up's delete
                finished_internal.add(id(subject))
        if error is not None:
            self._failed(*self.steps[failed_at], error)
        self._publish(written)
        return self.leftover(unrun_from=failed_at + (error is not None))

    def leftover(self, unrun_from: int | None = None) -> list[Item]:
        """What goes into the next round: changes not done yet (a provisional seq whose
        compare-and-set did not run is dropped), internal items whose steps did not all
        run, and what settling made."""
        unrun = set()
        if unrun_from is not None:
            unrun = {id(subject) for _kind, subject in self.steps[unrun_from:]}
        keep: list[Item] = []
        for item in self.items:
            if item.waiter and item.done.is_set():
                continue
            if not item.waiter and unrun_from is not None and id(item) not in unrun:
                continue  # its steps ran (a filler that found its seq taken is done too)
            if isinstance(item.op, Append) and not item.seq_held:
                item.seq = None
            keep.append(item)
        return keep + self.next_round

    def unknown_outcome(self, exc: Exception) -> list[Item]:
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
        self, item: Item, room: dict[str, Any] | None, *, outcome: Exception | None = None
    ) -> None:
        if item.key_written:
            key = DeleteOne({"_id": item.op.idem_key}, namespace=self.ns_keys)
            self.next_round.append(internal([key]))
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
        self.next_round.append(internal(undo))
        self.writer.rooms.forget([segment.room_id])
        for item in segment.items:
            self._refuse(item, None)

    def _receipt_written(self, item: Item, result: Any) -> None:
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
        required = {name for item in segment.items for name in item.op.require}
        doc = self.read_rooms({segment.room_id}, also=required).get(segment.room_id)
        for item in segment.items:
            op: Append = item.op
            item.seq = None
            item.attempts += 1
            closed = doc is None or (doc.get("status") == CLOSED and not op.allow_closed)
            if closed or any(doc.get(name) != value for name, value in op.require.items()):
                self._refuse(item, doc)
            elif item.attempts >= SEQ_ATTEMPTS:
                busy = ServiceUnavailable("The room is too busy; try again.")
                self._refuse(item, doc, outcome=busy)
            # else: a stale seq or a set-once field set meanwhile: again next round

    def _event_collided(self, item: Item, error: dict[str, Any]) -> None:
        if "idem_key" in (error.get("keyPattern") or {}):
            # A message with this key exists (sent before send keys existed, or its key
            # was discarded as stale meanwhile): a retry. The seq it took gets a filler.
            filler = RoomEvent(room_id=item.op.room_id, seq=item.seq, kind=EventKind.NOOP)
            self.next_round.append(internal(Place(event=filler)))
            item.finish(Duplicate())
            return
        # (room_id, seq): the seq was filled as a settled hole meanwhile; take another.
        item.seq, item.seq_held = None, False

    def _publish(self, written: list[Item]) -> None:
        # In seq order per room, so that a room's events leave the process in order, and
        # handed to the fan-out before any caller hears its outcome.
        written.sort(key=lambda item: (str(item.op.event.room_id), item.op.event.seq))
        rows = []
        for item in written:
            item.op.event._state.adding = False
            if item.op.notice is not None:
                rows.append((item.loop, item.op.event, item.op.notice))
        if rows:
            events.rows_written(rows)
        for item in written:
            if item.waiter:
                event = item.op.event
                item.finish(Appended(event) if isinstance(item.op, Append) else Placed(event))


def _segments(items: list[Item]) -> list[list[Item]]:
    """Consecutive changes that can share one compare-and-set: a change that sets room
    fields ends its segment (later ones are checked against the room it leaves), two
    requirements on one field with different values cannot share one, nor a requirement
    on a field with an earlier change that sets it once, and a change
    that is written to a closed room or changes an array field (``Append.alone``) has
    one of its own."""
    segments: list[list[Item]] = []
    current: list[Item] = []
    required: dict[str, Any] = {}
    once: set[str] = set()
    for item in items:
        op: Append = item.op
        if current and (
            op.alone
            or any(required.get(k, v) != v for k, v in op.require.items())
            # A requirement on a field an earlier change sets once (ring-no-answer's "no
            # first reply yet" after a send that is the first reply) is checked against
            # the room that change leaves, never merged with it (issue 30).
            or not once.isdisjoint(op.require)
        ):
            segments.append(current)
            current, required, once = [], {}, set()
        current.append(item)
        required.update(op.require)
        once.update(op.set_once)
        if op.set_fields or op.alone:
            segments.append(current)
            current, required, once = [], {}, set()
    if current:
        segments.append(current)
    return segments
