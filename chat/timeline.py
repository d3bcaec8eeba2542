"""Raw MongoDB reads of the chat collections, shaped so that both mongod and the
embedded SecantusDB serve every hot query from an index. (Writes: ``chat.writer``.)

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

So the writer (``chat.writer``) takes a room's seq by a compare-and-set update on
``_id`` (served by the ``_id`` lookup) instead of ``findAndModify``; reads here are
``raw_aggregate`` pipelines whose first ``$match`` is a flat indexed filter (mongod
needs nothing else), later stages narrow; and the unique indexes are created raw
(migration 0002): (room_id, seq) and the partial-on-``$gt: ""`` ``idem_key``; so is
search's (room_id, search_terms, seq) (migration 0003, ``chat/search_index.py``).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from chat.models import EventKind, Room, RoomEvent, RoomStatus, SendKey
from chat_project import mongo


def rooms_collection():
    return mongo.collection(Room)


def events_collection():
    return mongo.collection(RoomEvent)


def idem_key(room_id: object, sender_id: object, client_msg_id: str) -> str:
    """The exactly-once key of a send: unique among messages (null on other kinds)."""
    return f"{room_id}:{sender_id}:{client_msg_id}"


def discard_send_key(key: str) -> None:
    """Forget a send key that has no message (left behind by a database crash between the
    key and the seq: ``chat.services`` crash point 1), so the send can go through."""
    mongo.collection(SendKey).delete_one({"_id": key})


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
    first = mongo.index_match({"room_id": room_id}, ("seq", seq) if seq else None)
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
    if seq:  # a single term: equal, then the seq range
        first = mongo.index_match({"room_id": room_id, "search_terms": term}, ("seq", seq))
    else:
        first = mongo.index_match({"room_id": room_id}, ("search_terms", term))
    pipeline: list[dict[str, Any]] = [{"$match": first}, {"$match": then}, {"$sort": {"seq": -1}}]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(RoomEvent.objects.raw_aggregate(pipeline))


def count_events(room_id: ObjectId, *, gte: int, lte: int) -> int:
    rows = list(
        events_collection().aggregate(
            [
                {
                    "$match": mongo.index_match(
                        {"room_id": room_id}, ("seq", {"$gte": gte, "$lte": lte})
                    )
                },
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
                {"$match": mongo.index_match({"room_id": room_id}, ("seq", {"$gt": after_seq}))},
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
    first = mongo.index_match({"idem_key": key})
    found = list(RoomEvent.objects.raw_aggregate([{"$match": first}, {"$limit": 1}]))
    return found[0] if found else None


def events_by_ids(ids: list[ObjectId]) -> list[RoomEvent]:
    if not ids:
        return []
    first = mongo.index_match({}, ("_id", {"$in": ids}))
    return list(RoomEvent.objects.raw_aggregate([{"$match": first}]))


def rooms_by_ids(ids: list[ObjectId]) -> list[Room]:
    """Rooms by ``_id`` (the ``_id`` index)."""
    first = mongo.index_match({}, ("_id", {"$in": ids}))
    return list(Room.objects.raw_aggregate([{"$match": first}]))


def rooms(
    match: dict[str, Any],
    *,
    then: dict[str, Any] | None = None,
    before_id: ObjectId | None = None,
    limit: int | None = None,
) -> list[Room]:
    """Rooms by a flat indexed filter, newest first (by id), paged by ``before_id``;
    ``then`` narrows further (a status after the tag index)."""
    pipeline: list[dict[str, Any]] = [{"$match": match}] if match else []
    if then:
        pipeline.append({"$match": then})
    if before_id is not None:
        pipeline.append({"$match": {"_id": {"$lt": before_id}}})
    pipeline.append({"$sort": {"_id": -1}})
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def tags_in_use(*, limit: int) -> list[tuple[str, int]]:
    """The most used tags with their room counts: the first stage is a range on the
    (tags, agent) index (every room with a tag), then the tags are counted."""
    pipeline = [
        {"$match": mongo.index_match({}, ("tags", {"$gt": ""}))},
        {"$project": {"tags": 1}},
        {"$unwind": "$tags"},
        {"$group": {"_id": "$tags", "n": {"$sum": 1}}},
        {"$sort": {"n": -1, "_id": 1}},
        {"$limit": limit},
    ]
    return [(row["_id"], int(row["n"])) for row in rooms_collection().aggregate(pipeline)]


def room_by_id(room_id: ObjectId) -> Room | None:
    return Room.objects.filter(pk=room_id).first()


def count_rooms(match: dict[str, Any]) -> int:
    rows = list(rooms_collection().aggregate([{"$match": match}, {"$count": "n"}]))
    return int(rows[0]["n"]) if rows else 0


# --- the queues and room counts (chat.selectors.queue, .rooms) -----------------------------

QUEUED = {"status": RoomStatus.QUEUED.value}
# FIFO by queued_at, ties by _id (chat.selectors.queue explains). One queue per team
# (``team_id``; null is the general queue): the same order within each.
QUEUE_ORDER = {"queued_at": 1, "_id": 1}


def queued_rooms(*, limit: int | None = None) -> list[Room]:
    """The waiting rooms of every queue, in ``QUEUE_ORDER``."""
    pipeline: list[dict[str, Any]] = [{"$match": QUEUED}, {"$sort": QUEUE_ORDER}]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def _after(at: Any, room_id: ObjectId) -> dict[str, Any]:
    """After (``at``, ``room_id``) in ``QUEUE_ORDER``, given ``queued_at >= at``."""
    return {"$or": [{"queued_at": {"$gt": at}}, {"_id": {"$gt": room_id}}]}


def team_queue(
    team_id: ObjectId | None,
    *,
    after: tuple[Any, ObjectId] | None = None,
    limit: int | None = None,
) -> list[Room]:
    """One queue in ``QUEUE_ORDER``, optionally after a (queued_at, _id) cursor: the
    first ``$match`` is ``{status, team_id}`` (then the cursor's ``queued_at`` range),
    the (status, team_id, queued_at) index."""
    equal = {**QUEUED, "team_id": team_id}
    if after is None:
        pipeline: list[dict[str, Any]] = [{"$match": mongo.index_match(equal)}]
    else:
        first = mongo.index_match(equal, ("queued_at", {"$gte": after[0]}))
        pipeline = [{"$match": first}, {"$match": _after(*after)}]
    pipeline.append({"$sort": QUEUE_ORDER})
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def queued_ahead_of(room: Room) -> int:
    """How many rooms of its own queue come before ``room`` in ``QUEUE_ORDER``: one
    count whose first stage is ``{status, team_id}`` and the index range ``queued_at
    <= room's``, then the tie on ``_id``."""
    equal = {**QUEUED, "team_id": room.team_id}
    first = mongo.index_match(equal, ("queued_at", {"$lte": room.queued_at}))
    tie = {"$or": [{"queued_at": {"$lt": room.queued_at}}, {"_id": {"$lt": room.pk}}]}
    pipeline = [{"$match": first}, {"$match": tie}, {"$count": "n"}]
    rows = list(rooms_collection().aggregate(pipeline))
    return int(rows[0]["n"]) if rows else 0


def queued_places() -> dict[ObjectId, int]:
    """Every waiting room's 1-based place in its own queue (ids only), in ``QUEUE_ORDER``."""
    pipeline = [{"$match": QUEUED}, {"$sort": QUEUE_ORDER}, {"$project": {"_id": 1, "team_id": 1}}]
    places: dict[ObjectId, int] = {}
    counters: dict[Any, int] = {}
    for row in rooms_collection().aggregate(pipeline):
        team = row.get("team_id")
        counters[team] = counters.get(team, 0) + 1
        places[row["_id"]] = counters[team]
    return places


def queued_longer_than(team_id: ObjectId, *, cutoff: Any) -> list[Room]:
    """Rooms of a team's queue that joined it at or before ``cutoff`` (overflow), in
    ``QUEUE_ORDER``: the index range ``queued_at <= cutoff`` (a room's ``queued_at``
    is never after it joined its team), then ``team_at``."""
    first = mongo.index_match({**QUEUED, "team_id": team_id}, ("queued_at", {"$lte": cutoff}))
    pipeline = [
        {"$match": first},
        {"$match": {"$or": [{"team_at": {"$lte": cutoff}}, {"team_at": None}]}},
        {"$sort": QUEUE_ORDER},
    ]
    return list(Room.objects.raw_aggregate(pipeline))


def active_rooms_per_agent() -> dict[ObjectId, int]:
    """Active rooms per agent, counted in the database."""
    first = mongo.index_match({"status": RoomStatus.ACTIVE.value})
    pipeline = [{"$match": first}, {"$group": {"_id": "$agent_id", "n": {"$sum": 1}}}]
    rows = rooms_collection().aggregate(pipeline)
    return {row["_id"]: int(row["n"]) for row in rows if row["_id"] is not None}


def first_assigned_at(room_ids: list[ObjectId]) -> dict[ObjectId, Any]:
    """Each room's first ``assigned`` event time, by the (room_id, seq) index."""
    if not room_ids:
        return {}
    pipeline = [
        {"$match": mongo.index_match({}, ("room_id", {"$in": room_ids}))},
        {"$match": {"kind": EventKind.ASSIGNED.value}},
        {"$group": {"_id": "$room_id", "at": {"$min": "$created_at"}}},
    ]
    return {row["_id"]: row["at"] for row in events_collection().aggregate(pipeline)}


# --- issue 30: ring-no-answer and SLA sweeps (agents.services.timers) ---------------------

SWEEP_BATCH = 200


def unanswered_rooms(
    *, assigned_before: Any, due: dict[str, Any], limit: int = SWEEP_BATCH
) -> list[Room]:
    """Active rooms without an agent reply assigned at or before ``assigned_before`` (the
    earliest bound of any team) and matching ``due`` (each team's own bound), oldest
    assignment first: one range on the (status, first_agent_reply_at, assigned_at)
    index, so a tick with nothing due reads nothing; ``due`` keeps rooms that are not
    due (a team with a longer bound, or none) out of the batch."""
    equal = {"status": RoomStatus.ACTIVE.value, "first_agent_reply_at": None}
    first = mongo.index_match(equal, ("assigned_at", {"$lte": assigned_before}))
    pipeline = [{"$match": first}, {"$match": due}, {"$sort": {"assigned_at": 1}}]
    pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def rooms_open_since(
    *, status: str, created_before: Any, due: dict[str, Any], limit: int = SWEEP_BATCH
) -> list[Room]:
    """Rooms of ``status`` created at or before ``created_before`` (the earliest SLA
    bound of any team) that owe an SLA row now (``due``: per team and target, the flag
    and the bound of its next state), oldest first: the (status, created_at) index,
    then ``due``, so rooms already flagged as far as they can be yet stay out of the
    batch."""
    first = mongo.index_match({"status": status}, ("created_at", {"$lte": created_before}))
    pipeline = [{"$match": first}, {"$match": due}, {"$sort": {"created_at": 1}}]
    pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))
