"""Raw MongoDB access for the chat collections, shaped so that both mongod and the
embedded SecantusDB serve every hot query from an index.

Why not plain ORM calls: SecantusDB 0.7 (the embedded server) has three costs that
grow with the collection, measured here at 20,000 documents:

- ``findAndModify`` (``find_one_and_update``) scans the whole collection on its
  write (it re-asserts the query as ``{_id, $and: [query]}``, which its planner
  cannot index): ~120 ms, ~6 ms at 1,000 rooms, whatever the filter.
- A read filter with a top-level ``$and``/``$or`` (the ORM wraps every filter of
  two or more conditions in ``$and``), or whose fields are not exactly an index
  prefix (equalities, then at most one range field), is a collection scan; so is
  any query on a partial index with ``$type`` in its filter (which the backend adds
  to every ``UniqueConstraint``).
- Update pipelines (``[{$set: {$cond: ...}}]``) are not atomic under concurrency.

So here: the room's seq is taken by a compare-and-set ``update_one`` (``{_id,
last_seq: n, status: {$ne: "closed"}}`` -> ``last_seq: n + 1``), one atomic
single-document update like the ``$inc`` it replaces, ~1 ms and retried only when
another writer of the same room got there first; other conditional writes are
``update_one`` with ``_id`` in the filter (served by the ``_id`` lookup); reads are
``raw_aggregate`` pipelines whose first ``$match`` is a flat indexed filter (mongod
needs nothing else), later stages narrow; and the unique indexes are created raw
(migration 0002): (room_id, seq) and the partial-on-``$gt: ""`` ``idem_key``; so is
search's (room_id, search_terms, seq) (migration 0003, ``chat/search_index.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import Int64, ObjectId
from django.db import IntegrityError, connections

from chat import search_index
from chat.models import EventKind, Room, RoomEvent, RoomStatus

CLOSED = RoomStatus.CLOSED.value


def rooms_collection():
    return connections["default"].get_collection(Room._meta.db_table)


def events_collection():
    return connections["default"].get_collection(RoomEvent._meta.db_table)


def idem_key(room_id: object, sender_id: object, client_msg_id: str) -> str:
    """The exactly-once key of a send: unique among messages (null on other kinds)."""
    return f"{room_id}:{sender_id}:{client_msg_id}"


# --- room document: seq, close, watermarks ---------------------------------------------------

CAS_ATTEMPTS = 1000  # each failed attempt means another writer of this room succeeded


def reserve_seq(
    room_id: ObjectId, *, last_seq: int | None = None, also_set: dict[str, Any] | None = None
) -> int | None:
    """Take the room's next seq, or None if the room is closed (or gone).
    ``last_seq`` is the value the caller just read, saving a read when nobody else
    wrote in between; ``also_set`` are raw fields set in the same update."""
    return reserve_seq_if(room_id, require={}, also_set=dict(also_set or {}), last_seq=last_seq)


def take_seq_once(
    room_id: ObjectId, *, last_seq: int, require: dict[str, Any], also_set: dict[str, Any]
) -> int | None:
    """One compare-and-set attempt at ``last_seq`` -> ``last_seq + 1`` while the room is
    open and matches ``require`` (flat raw fields), without reading the room first: the
    hot path of a socket that already knows the room's seq. None when the guess was
    stale, the room closed or ``require`` no longer holds; the caller then takes the
    path that reads the room and says which."""
    result = rooms_collection().update_one(
        {"_id": room_id, "last_seq": last_seq, "status": {"$ne": CLOSED}, **require},
        {"$set": {"last_seq": Int64(last_seq + 1), **also_set}},
    )
    return last_seq + 1 if result.modified_count else None


def room_send_state(room_id: ObjectId) -> dict[str, Any] | None:
    """What a hinted send needs to try again: ``last_seq``, ``closed``, the
    participants' ids and whether the first agent reply is recorded (one raw read)."""
    doc = rooms_collection().find_one(
        {"_id": room_id},
        {"last_seq": 1, "status": 1, "customer_id": 1, "agent_id": 1, "first_agent_reply_at": 1},
    )
    if doc is None:
        return None
    return {
        "last_seq": int(doc.get("last_seq") or 0),
        "closed": doc.get("status") == CLOSED,
        "customer_id": doc.get("customer_id"),
        "agent_id": doc.get("agent_id"),
        "agent_replied": doc.get("first_agent_reply_at") is not None,
    }


def reserve_seq_if(
    room_id: ObjectId,
    *,
    require: dict[str, Any],
    also_set: dict[str, Any],
    last_seq: int | None = None,
) -> int | None:
    """Take the room's next seq only while the room is open and still matches
    ``require`` (equality on flat raw fields, e.g. ``{"status": "queued", "agent_id":
    None}``), setting ``also_set`` in the same single-document update: the conditional
    claim of routing and transfer. None when the room no longer matches (another router
    or transfer won, or it closed). ``last_seq``: the room's seq as the caller just read
    it (the routing drain read the queue), tried before reading the room again. The
    read is by ``_id`` alone (served by the ``_id`` lookup) and ``require`` is checked
    on what it returns; the compare-and-set re-checks it atomically."""
    for _attempt in range(CAS_ATTEMPTS):
        if last_seq is None:
            doc = rooms_collection().find_one(
                {"_id": room_id}, {"last_seq": 1, "status": 1, **dict.fromkeys(require, 1)}
            )
            if doc is None or doc.get("status") == CLOSED:
                return None
            if any(doc.get(name) != value for name, value in require.items()):
                return None
            last_seq = int(doc.get("last_seq") or 0)
        seq = take_seq_once(room_id, last_seq=last_seq, require=require, also_set=also_set)
        if seq is not None:
            return seq
        last_seq = None  # someone else took it, or the room changed: look again
    raise RuntimeError(f"could not take a seq in room {room_id}")


def close_room(room_id: ObjectId, *, now: datetime, last_seq: int | None = None) -> int | None:
    """Close a room and take the seq of its ``closed`` event in one single-document
    update (status, ``closed_at``, the freed ``open_key``, ``last_seq``). None if it
    was already closed."""
    extra = {"status": CLOSED, "closed_at": now, "open_key": None}
    return reserve_seq_if(room_id, require={}, also_set=extra, last_seq=last_seq)


def advance_watermarks(
    room_id: ObjectId, user_id: str, *, delivered: int, read: int | None
) -> bool:
    """``$max`` the user's watermarks in one update; True if either moved."""
    update = {f"watermarks.{user_id}.delivered": delivered}
    if read is not None:
        update[f"watermarks.{user_id}.read"] = read
    return bool(rooms_collection().update_one({"_id": room_id}, {"$max": update}).modified_count)


def advance_watermarks_if(
    room_id: ObjectId,
    user_id: str,
    *,
    require: dict[str, Any],
    delivered: int,
    read: int | None,
) -> tuple[bool, bool]:
    """:func:`advance_watermarks` only while the room matches ``require`` and its
    ``last_seq`` is at least ``delivered`` (a receipt never runs ahead of the room), in
    the same single update, so the caller needs no read of the room first.
    ``(matched, moved)``: not matched means the caller must read the room to say why."""
    update = {f"watermarks.{user_id}.delivered": delivered}
    if read is not None:
        update[f"watermarks.{user_id}.read"] = read
    result = rooms_collection().update_one(
        {"_id": room_id, "last_seq": {"$gte": delivered}, **require}, {"$max": update}
    )
    return bool(result.matched_count), bool(result.modified_count)


def insert_event(event: RoomEvent) -> None:
    """Insert a new event as ``save(force_insert=True)`` would store it (each field's
    own ``get_db_prep_save``), in one ``insert_one`` without the ORM's per-call query
    compilation (half of a send's client CPU, docs/benchmarks.md). Raises pymongo's
    ``DuplicateKeyError`` on a unique index."""
    connection = connections["default"]
    doc = {
        field.column: field.get_db_prep_save(field.pre_save(event, True), connection)
        for field in RoomEvent._meta.concrete_fields
        if not field.primary_key
    }
    event.pk = events_collection().insert_one(doc).inserted_id
    event._state.adding = False


# --- message document: edit, delete ----------------------------------------------------------


def apply_edit(
    message: RoomEvent, *, seq: int, text: str, now: datetime
) -> tuple[str, RoomEvent | None]:
    """Set a message's current text unless it is deleted or an edit with a higher
    seq got there first (concurrent edits: the highest seq wins whatever order they
    land in; compare-and-set on ``text_seq``). The first edit keeps the original.
    Returns ``("applied", the message as now stored)``, ``("superseded", the message
    as read)`` or ``("deleted", ...)``."""
    events_ = events_collection()
    current: RoomEvent | None = message
    for _attempt in range(CAS_ATTEMPTS):
        if current is None or current.deleted:
            return "deleted", current
        if (current.text_seq or 0) > seq:
            return "superseded", current
        changes: dict[str, Any] = {
            "text": text,
            "edited_at": now,
            "text_seq": Int64(seq),
            "search_terms": search_index.search_terms(text, seq=message.seq),
        }
        if current.original_text is None:
            changes["original_text"] = current.text
        result = events_.update_one(
            {"_id": message.pk, "deleted": False, "text_seq": current.text_seq},
            {"$set": changes},
        )
        if result.modified_count:
            for field, value in changes.items():
                setattr(current, field, value)
            current.text_seq = seq
            return "applied", current
        current = event_by_id(message.pk)
    raise RuntimeError(f"could not edit message {message.pk}")


def apply_delete(message_id: ObjectId, *, seq: int, now: datetime) -> bool:
    """Tombstone a message unless it already is one; True if this call did. Its
    search terms go with it (search never shows a deleted message)."""
    changes = {"deleted": True, "deleted_at": now, "deleted_seq": Int64(seq), "search_terms": None}
    result = events_collection().update_one(
        {"_id": message_id, "deleted": False}, {"$set": changes}
    )
    return bool(result.modified_count)


def fill_noop(room_id: ObjectId, seq: int) -> None:
    """Give a consumed seq a filler event so the timeline stays gap-free."""
    try:
        RoomEvent.objects.create(room_id=room_id, seq=seq, kind=EventKind.NOOP)
    except IntegrityError:  # already filled
        return


# --- reads ---------------------------------------------------------------------------------


def events(
    room_id: ObjectId,
    *,
    seq: dict[str, int] | None = None,
    then: dict[str, Any] | None = None,
    order: int = 1,
    limit: int | None = None,
) -> list[RoomEvent]:
    """A room's events in seq order: the first ``$match`` is ``{room_id, seq: range}``
    (the unique (room_id, seq) index), ``then`` narrows further (kind, deleted, text)."""
    first: dict[str, Any] = {"room_id": room_id}
    if seq:
        first["seq"] = seq
    pipeline: list[dict[str, Any]] = [{"$match": first}]
    if then:
        pipeline.append({"$match": then})
    pipeline.append({"$sort": {"seq": order}})
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(RoomEvent.objects.raw_aggregate(pipeline))


def events_with_term(
    room_id: ObjectId,
    term: str | dict[str, str],
    *,
    seq: dict[str, int] | None = None,
    then: dict[str, Any],
    limit: int | None = None,
) -> list[RoomEvent]:
    """A room's events holding a search term (a value or a ``$gte``/``$lt`` range),
    newest first: the first ``$match`` is ``{room_id, search_terms: term}`` (a seq
    range only after a single term), the (room_id, search_terms, seq) index of
    migration 0003; ``then`` narrows further."""
    first: dict[str, Any] = {"room_id": room_id, "search_terms": term}
    if seq:
        first["seq"] = seq
    pipeline: list[dict[str, Any]] = [{"$match": first}, {"$match": then}, {"$sort": {"seq": -1}}]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(RoomEvent.objects.raw_aggregate(pipeline))


def count_events(room_id: ObjectId, *, gte: int, lte: int) -> int:
    rows = list(
        events_collection().aggregate(
            [
                {"$match": {"room_id": room_id, "seq": {"$gte": gte, "$lte": lte}}},
                {"$count": "n"},
            ]
        )
    )
    return int(rows[0]["n"]) if rows else 0


def count_unread(room_id: ObjectId, *, after_seq: int, reader_id: ObjectId) -> int:
    """Live messages from others with seq > the reader's read watermark."""
    rows = list(
        events_collection().aggregate(
            [
                {"$match": {"room_id": room_id, "seq": {"$gt": after_seq}}},
                {
                    "$match": {
                        "kind": EventKind.MESSAGE.value,
                        "deleted": False,
                        "actor_id": {"$ne": reader_id},
                    }
                },
                {"$count": "n"},
            ]
        )
    )
    return int(rows[0]["n"]) if rows else 0


def event_by_id(event_id: ObjectId) -> RoomEvent | None:
    return RoomEvent.objects.filter(pk=event_id).first()


def message_by_idem_key(key: str) -> RoomEvent | None:
    found = list(RoomEvent.objects.raw_aggregate([{"$match": {"idem_key": key}}, {"$limit": 1}]))
    return found[0] if found else None


def events_by_ids(ids: list[ObjectId]) -> list[RoomEvent]:
    if not ids:
        return []
    return list(RoomEvent.objects.raw_aggregate([{"$match": {"_id": {"$in": ids}}}]))


def rooms(
    match: dict[str, Any], *, before_id: ObjectId | None = None, limit: int | None = None
) -> list[Room]:
    """Rooms by a flat indexed filter, newest first (by id), paged by ``before_id``."""
    pipeline: list[dict[str, Any]] = [{"$match": match}] if match else []
    if before_id is not None:
        pipeline.append({"$match": {"_id": {"$lt": before_id}}})
    pipeline.append({"$sort": {"_id": -1}})
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def room_by_id(room_id: ObjectId) -> Room | None:
    return Room.objects.filter(pk=room_id).first()


def count_rooms(match: dict[str, Any]) -> int:
    rows = list(rooms_collection().aggregate([{"$match": match}, {"$count": "n"}]))
    return int(rows[0]["n"]) if rows else 0
