"""Reads of rooms, history, replay, search and unread counts.

Visibility (every room-facing read and write starts here, :func:`can_see`):

- a customer (role ``user``) sees the rooms they opened;
- an agent sees the rooms currently assigned to them: after a transfer the previous
  agent loses access, and a queued room is seen by no agent;
- an admin sees every room;
- anything else is a 404 ``not_found``, never a 403, so room ids leak nothing.

Reads return dicts and lists, never lazy QuerySets. Queries go through
``chat.timeline`` (flat, index-shaped filters; see there why). ``select_related`` is
not used either: the backend places its ``$lookup`` before the ``$match`` (a join of
the whole collection); users are fetched by id in one query (``dtos.users_by_id``).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from accounts.models import User
from chat import dtos, events, history_cache, search_index, timeline
from chat import holes as holes_module
from chat.conf import chat_setting
from chat.exceptions import ResyncRequired
from chat.models import OPEN_STATUSES, Attachment, EventKind, Room, RoomEvent, RoomStatus
from chat.writer import timeline_writer
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed

HISTORY_MAX_LIMIT = 100
SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 10


def object_id(value: object) -> ObjectId:
    """An id from the wire; anything malformed is a 404 like an unknown id."""
    if isinstance(value, ObjectId):
        return value
    if not isinstance(value, str):
        raise NotFound()
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound() from None


def seq_value(value: object, *, field: str) -> int:
    """A non-negative seq from the wire (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(details={"fields": {field: ["A non-negative integer."]}})
    return value


def can_see(room: Room, user: User) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if user.is_agent:
        return room.agent_id == user.pk
    return room.customer_id == user.pk


def _visible_match(user: User) -> dict[str, Any]:
    """The flat filter of the rooms ``user`` may see (``{}``: all of them)."""
    if user.is_admin:
        return {}
    if user.is_agent:
        return {"agent_id": user.pk}
    return {"customer_id": user.pk}


def room_get_for_user(*, room_id: object, user: User) -> Room:
    room = timeline.room_by_id(object_id(room_id))
    if room is None or not can_see(room, user):
        raise NotFound("No such room.")
    # What the room is now saves the writer reading it for the next change here
    # (a socket's first send after joining, a REST send after a page).
    timeline_writer().note_room(room)
    return room


def is_participant(room: Room, user: User) -> bool:
    return user.pk in (room.customer_id, room.agent_id)


def room_detail(*, room_id: object, user: User) -> dict[str, Any]:
    room = room_get_for_user(room_id=room_id, user=user)
    return {**dtos.room_dto_one(room, known=[user]), "queue_position": room_queue_position(room)}


def room_queue_position(room: Room) -> int | None:
    """1-based place in the queue (``QUEUE_ORDER``), None unless queued."""
    if room.status != RoomStatus.QUEUED or room.queued_at is None:
        return None
    return queue_rooms_ahead(room) + 1


def room_list(
    *,
    user: User,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
    assigned_only: bool = False,
) -> dict[str, Any]:
    """The caller's rooms, newest first, paged by id (``next`` is the cursor to pass)."""
    if assigned_only:
        if not user.is_agent:
            raise PermissionDenied("Only agents have assigned rooms.")
        match: dict[str, Any] = {"agent_id": user.pk}
    else:
        match = _visible_match(user)
    if status:
        match["status"] = status
    before_id = None
    if cursor:
        try:
            before_id = ObjectId(cursor)
        except (InvalidId, TypeError):
            raise ValidationFailed(details={"fields": {"cursor": ["Invalid cursor."]}}) from None
    rows = timeline.rooms(match, before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": dtos.rooms_dto(rows, known=[user]),
        "next": str(rows[-1].pk) if more else None,
    }


def room_ids_for_user(*, user: User) -> list[str]:
    """Open rooms the user may see now (admins: every open room)."""
    if not user.is_authenticated:
        return []
    match = {**_visible_match(user), "status": {"$in": [s.value for s in OPEN_STATUSES]}}
    return [str(room.pk) for room in timeline.rooms(match)]


_MESSAGES = {"kind": EventKind.MESSAGE.value}


def message_get_in_room(*, room: Room, message_id: object) -> RoomEvent:
    message = timeline.event_by_id(object_id(message_id))
    if message is None or message.room_id != room.pk or message.kind != EventKind.MESSAGE:
        raise NotFound("No such message.")
    return message


def _messages_before(room: Room, *, before: int, count: int) -> list[RoomEvent]:
    """Up to ``count`` messages with seq < ``before``, newest first. A window of seqs
    is tried first (messages are most of a timeline), so the scan is bounded by the
    page, not by the room; a sparse window falls back to everything below."""
    window = 2 * count
    rows = timeline.events(
        room.pk, seq={"$gte": before - window, "$lt": before}, then=_MESSAGES, order=-1, limit=count
    )
    if len(rows) < count and before - window > 1:
        rows = timeline.events(room.pk, seq={"$lt": before}, then=_MESSAGES, order=-1, limit=count)
    return rows


def _messages_after(room: Room, *, after: int, count: int) -> list[RoomEvent]:
    """Up to ``count`` messages with seq > ``after``, oldest first (windowed too)."""
    window = 2 * count
    rows = timeline.events(
        room.pk, seq={"$gt": after, "$lte": after + window}, then=_MESSAGES, limit=count
    )
    if len(rows) < count and after + window < room.last_seq:
        rows = timeline.events(room.pk, seq={"$gt": after}, then=_MESSAGES, limit=count)
    return rows


def _page_is_complete(room: Room, *, low_seq: int) -> bool:
    """True when every seq in [low_seq, last_seq] is written. A concurrent send may
    have reserved a seq and not inserted it yet; caching a page read in that window
    would freeze the message out of it, so such a page is served but not cached."""
    expected = room.last_seq - low_seq + 1
    if expected <= 0:
        return True
    return timeline.count_events(room.pk, gte=low_seq, lte=room.last_seq) == expected


def room_history_page(
    *,
    room_id: object,
    user: User,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of messages in ascending ``seq``. Default: the newest page (cached);
    ``before_seq``: the page before it (``next`` = ``{"before_seq": n}``);
    ``after_seq``: the page after it (``next`` = ``{"after_seq": n}``)."""
    if before_seq is not None and after_seq is not None:
        raise ValidationFailed("Give before_seq or after_seq, not both.")
    limit = max(1, min(int(limit), HISTORY_MAX_LIMIT))
    room = room_get_for_user(room_id=room_id, user=user)
    # Cursors past the room's end mean "the end": never a value MongoDB cannot hold
    # (issue 18: before_seq=2**63 was an OverflowError, a 500).
    if after_seq is not None:
        after_seq = min(after_seq, room.last_seq)
    if before_seq is not None:
        before_seq = min(before_seq, room.last_seq + 1)
    page: dict[str, Any] | None = None
    if after_seq is not None:
        rows = _messages_after(room, after=after_seq, count=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        page = {"messages": dtos.messages_base(rows, known=[user]), "more": more}
        cursor = {"after_seq": rows[-1].seq} if more else None
    else:
        newest = before_seq is None
        if newest:
            page = history_cache.page_get(room_id=room.pk, last_seq=room.last_seq, limit=limit)
        if page is None:
            before = before_seq if before_seq is not None else room.last_seq + 1
            rows = _messages_before(room, before=before, count=limit + 1)
            more = len(rows) > limit
            rows = rows[:limit][::-1]
            page = {"messages": dtos.messages_base(rows, known=[user]), "more": more}
            low_seq = rows[0].seq if (rows and more) else 1
            if newest and _page_is_complete(room, low_seq=low_seq):
                history_cache.page_set(
                    room_id=room.pk, last_seq=room.last_seq, limit=limit, page=page
                )
        messages = page["messages"]
        cursor = {"before_seq": messages[0]["seq"]} if page["more"] and messages else None
    return {
        "room_id": str(room.pk),
        "results": [
            dtos.message_for_viewer(base, room=room, viewer=user) for base in page["messages"]
        ],
        "next": cursor,
        "last_seq": room.last_seq,
        "watermarks": dtos.watermarks_dto(room),
    }


_KIND_EVENT = {
    EventKind.CLOSED: events.ROOM_CLOSED,
    EventKind.ASSIGNED: events.ROOM_ASSIGNED,
    EventKind.TRANSFERRED: events.ROOM_TRANSFERRED,
}


def room_events_after(
    *, room_id: object, user: User, after_seq: int, limit: int = 500
) -> dict[str, Any]:
    """Every timeline event after ``after_seq`` in seq order, in the live shapes
    (``{"event", "data"}``); ``noop`` fillers are left out.

    Messages are rendered in their CURRENT state (a replayed ``new-message`` of a
    message edited since carries the new text; the ``message-updated`` events after
    it carry the same), so a client that applies the list in order ends in the
    stored state.

    Holes (a seq taken in a round the database crashed in before its event) are
    tolerated: ``last_seq`` is the room's, so the client's cursor moves past them, and
    a settled one gets its ``noop`` filler here (``chat.holes``). A hole left by an edit
    or delete that updated the message but not its event is repaired here from the
    message's ``text_seq`` / ``deleted_seq``. With ``has_more`` the client asks again
    from ``cursor``.
    """
    after_seq = seq_value(after_seq, field="after_seq")
    limit = max(1, min(int(limit), 1000))
    room = room_get_for_user(room_id=room_id, user=user)
    if after_seq > room.last_seq:
        raise ResyncRequired("after_seq is ahead of the room.", details={"room_id": str(room.pk)})
    if room.last_seq - after_seq > chat_setting("CHAT_REPLAY_MAX_EVENTS"):
        raise ResyncRequired(
            "Too far behind to replay; reload the history.", details={"room_id": str(room.pk)}
        )
    # A page covers the seqs (after_seq, cursor]: at most ``limit`` events, since a
    # seq is used once. Fillers are left out; a window that holds nothing else moves
    # on, so a page with ``has_more`` is never empty.
    start = after_seq
    while True:
        cursor = min(start + limit, room.last_seq)
        window = timeline.events(room.pk, seq={"$gt": start, "$lte": cursor})
        rows = [row for row in window if row.kind != EventKind.NOOP]
        if rows or cursor >= room.last_seq:
            break
        start = cursor
    more = cursor < room.last_seq
    # Seqs with no event: fillers, or holes a crashed writer left (repaired below if
    # they were an edit or delete; a filler never carries text_seq or deleted_seq).
    fillers = {row.seq for row in window if row.kind == EventKind.NOOP}
    present = {row.seq for row in rows} | fillers
    holes = [seq for seq in range(after_seq + 1, cursor + 1) if seq not in present]
    targets: dict[object, RoomEvent] = {row.pk: row for row in rows if row.kind == "message"}
    missing = {
        row.target_id
        for row in rows
        if row.kind in (EventKind.MESSAGE_EDITED, EventKind.MESSAGE_DELETED)
        and row.target_id
        and row.target_id not in targets
    }
    for message in timeline.events_by_ids(list(missing)):
        targets[message.pk] = message
    if holes:
        repaired = timeline.events(
            room.pk,
            then={
                "kind": EventKind.MESSAGE.value,
                "$or": [{"text_seq": {"$in": holes}}, {"deleted_seq": {"$in": holes}}],
            },
        )
        for message in repaired:
            targets[message.pk] = message
    users = dtos.users_by_id(
        {m.actor_id for m in targets.values()} | {room.customer_id, room.agent_id}, known=[user]
    )
    bases = {pk: dtos.message_base(m, users) for pk, m in targets.items()}

    def current(pk: object) -> dict[str, Any]:
        return dtos.message_for_viewer(bases[pk], room=room, viewer=user)

    rid = str(room.pk)
    items: list[tuple[int, str, dict[str, Any]]] = []
    for row in rows:
        data: dict[str, Any] = {"room_id": rid, "seq": row.seq}
        if row.kind == EventKind.MESSAGE:
            items.append((row.seq, events.NEW_MESSAGE, {**data, "message": current(row.pk)}))
        elif row.kind == EventKind.MESSAGE_EDITED and row.target_id in bases:
            message = current(row.target_id)
            items.append((row.seq, events.MESSAGE_UPDATED, {**data, "message": message}))
        elif row.kind == EventKind.MESSAGE_DELETED:
            message_id = str(row.target_id)
            items.append((row.seq, events.MESSAGE_DELETED, {**data, "message_id": message_id}))
        elif row.kind in _KIND_EVENT:
            room_data = {**(row.data or {}), **data, "room": dtos.room_dto(room, users)}
            items.append((row.seq, _KIND_EVENT[row.kind], room_data))
        elif row.kind == EventKind.SYSTEM:
            items.append(
                (row.seq, events.SYSTEM_MESSAGE, {**(row.data or {}), **data, "text": row.text})
            )
    hole_set = set(holes)
    repaired_seqs = set()
    for pk, message in targets.items():
        if message.text_seq in hole_set:
            data = {"room_id": rid, "seq": message.text_seq, "message": current(pk)}
            items.append((message.text_seq, events.MESSAGE_UPDATED, data))
            repaired_seqs.add(message.text_seq)
        if message.deleted_seq in hole_set:
            data = {"room_id": rid, "seq": message.deleted_seq, "message_id": str(pk)}
            items.append((message.deleted_seq, events.MESSAGE_DELETED, data))
            repaired_seqs.add(message.deleted_seq)
    # Only the last window read is known seq by seq (earlier ones held no events).
    known = {seq for seq in hole_set if seq > start} - repaired_seqs
    unfilled = holes_module.settled(room, known, rows)
    if unfilled:
        holes_module.holes_fill(room_id=room.pk, seqs=unfilled)
    items.sort(key=lambda item: item[0])
    return {
        "room_id": rid,
        "events": [{"event": name, "data": data} for _, name, data in items],
        "last_seq": room.last_seq,
        "cursor": cursor,
        "has_more": more,
        "watermarks": dtos.watermarks_dto(room),
    }


def message_search(
    *,
    room_id: object,
    user: User,
    q: str,
    before_seq: int | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Live messages in which every word of ``q`` is, case-insensitively, the prefix of
    a word (``chat.search_index``: what a word is, and why prefixes of words rather
    than substrings), newest first, paged by seq (``next`` = ``{"before_seq": n}``).

    The query is never a pattern or an operator (``.*``, ``$where`` and ``(`` are
    plain words): it is only compared with stored strings. Reads: the room, one
    indexed query per bucket of ``search_index.BUCKET_SEQS`` seqs from the newest down
    until a page is full, and one for the overflow messages of those seqs
    (:func:`_search_newest`).
    """
    if not isinstance(q, str):
        raise ValidationFailed(details={"fields": {"q": ["A string."]}})
    words = q.split()
    if not words or len(q) > SEARCH_MAX_CHARS or len(words) > SEARCH_MAX_WORDS:
        raise ValidationFailed(
            details={"fields": {"q": [f"1 to {SEARCH_MAX_WORDS} words, {SEARCH_MAX_CHARS} chars."]}}
        )
    limit = max(1, min(int(limit), HISTORY_MAX_LIMIT))
    room = room_get_for_user(room_id=room_id, user=user)
    # Clamped to the room's last seq: one query per bucket below ``top`` at most.
    top = int(room.last_seq or 0)
    if before_seq is not None:
        top = min(top, before_seq - 1)
    rows = _search_newest(room.pk, search_index.query_words(q), top=top, want=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": [
            dtos.message_for_viewer(base, room=room, viewer=user)
            for base in dtos.messages_base(rows, known=[user])
        ],
        "next": {"before_seq": rows[-1].seq} if more else None,
    }


def _search_newest(room_id: ObjectId, words: list[str], *, top: int, want: int) -> list[RoomEvent]:
    """The newest ``want`` live messages with seq <= ``top`` matching ``words``.

    Buckets are read from the newest down until ``want`` matches are found; then the
    overflow messages (too many words to index) of the seqs read are added: one
    query on ``(room_id, OVERFLOW, seq range)``, so even they are read only as far
    back as the page needs. Each bucket's query is exact (its term ranges are the
    definition) unless a word was cut to the stored length; :func:`search_index.matches`
    confirms every row anyway, and alone decides the overflow messages."""
    if top < 1:
        return []
    live = {**_MESSAGES, "deleted": False, "seq": {"$lte": top}}
    key = max(words, key=len)  # the longest word: most likely the rarest
    exact = search_index.exact_in_database(words)
    found: list[RoomEvent] = []
    oldest_read = 0
    for bucket in range(search_index.bucket_of(top), -1, -1):
        # Every word, the key too, as one term in range: a flat range on an array is
        # met by any element >= the low end with any element < the high end, and
        # mongod's multikey index does not intersect the two bounds without
        # ``$elemMatch`` (SecantusDB's planner, in turn, only takes a flat range).
        then = {
            **live,
            "$and": [
                {"search_terms": {"$elemMatch": search_index.term_range(w, bucket)}} for w in words
            ],
        }
        rows = timeline.events_with_term(
            room_id,
            search_index.term_range(key, bucket),
            then=then,
            limit=want - len(found) if exact else None,
        )
        found += [m for m in rows if search_index.matches(m.text, words)]
        if len(found) >= want:
            oldest_read = bucket * search_index.BUCKET_SEQS
            break
    overflow = timeline.events_with_term(
        room_id, search_index.OVERFLOW, seq={"$gte": oldest_read, "$lte": top}, then=live
    )
    found += [m for m in overflow if search_index.matches(m.text, words)]
    found.sort(key=lambda m: m.seq, reverse=True)
    return found[:want]


def unread_counts(*, user: User) -> dict[str, Any]:
    """Messages from others above the caller's read watermark, per open room the
    caller takes part in (customer or assigned agent; admins take part in none).
    One query for the rooms, then per room one aggregation that counts in the
    database from the read watermark on (no message is loaded)."""
    if not user.is_authenticated or user.is_admin:
        return {"total": 0, "rooms": {}}
    match = {**_visible_match(user), "status": {"$in": [s.value for s in OPEN_STATUSES]}}
    counts = {
        str(room.pk): timeline.count_unread(
            room.pk, after_seq=room.watermark(user.pk)[1], reader_id=user.pk
        )
        for room in timeline.rooms(match)
    }
    return {"total": sum(counts.values()), "rooms": counts}


def message_audit(*, room_id: object, message_id: object, user: User) -> dict[str, Any]:
    """Admins: a message with its original text and every edit's text."""
    room = room_get_for_user(room_id=room_id, user=user)
    if not user.is_admin:
        raise PermissionDenied("Only admins see edit history.")
    message = message_get_in_room(room=room, message_id=message_id)
    edits = timeline.events(
        room.pk, then={"kind": EventKind.MESSAGE_EDITED.value, "target_id": message.pk}
    )
    users = dtos.users_by_id({message.actor_id} | {e.actor_id for e in edits}, known=[user])
    return {
        "message": dtos.message_for_viewer(
            dtos.message_base(message, users), room=room, viewer=user
        ),
        "original_text": message.original_text
        if message.original_text is not None
        else message.text,
        "edits": [
            {
                "seq": edit.seq,
                "text": edit.text,
                "edited_at": dtos.iso(edit.created_at),
                "editor": dtos.user_brief(users.get(str(edit.actor_id))),
            }
            for edit in edits
        ],
    }


def attachment_get_for_user(*, attachment_id: object, user: User) -> Attachment:
    """Participants of the attachment's room and admins; before it is sent only its
    uploader (and admins); a deleted message's files only admins. Else 404."""
    attachment = Attachment.objects.filter(pk=object_id(attachment_id)).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    room = timeline.room_by_id(attachment.room_id)
    if room is None or not can_see(room, user):
        raise NotFound("No such attachment.")
    if user.is_admin:
        return attachment
    if attachment.message_id is None:
        if attachment.uploader_id != user.pk:
            raise NotFound("No such attachment.")
    else:
        message = timeline.event_by_id(attachment.message_id)
        if message is None or message.deleted:
            raise NotFound("No such attachment.")
    return attachment


# --- for routing (agents app) ----------------------------------------------------------------


def room_by_id(room_id: object) -> Room | None:
    """A room whoever may see it (routing decides who may act); None if unknown."""
    try:
        return timeline.room_by_id(object_id(room_id))
    except NotFound:
        return None


# --- the queue: one order for routing, REST, queue-updated and the admin -----------------
#
# FIFO by ``queued_at`` (a room taken back from an agent is put at the head with a time
# ahead of every waiting room), and rooms queued in the same millisecond by ``_id``
# (issue 18: positions counted only earlier ``queued_at`` values, so such rooms shared
# a place while the drain took them one after another). Every reader of the queue goes
# through ``QUEUE_ORDER``: routing's drain and the queue snapshot (``queued_rooms``),
# a room's own place (``queue_rooms_ahead``) and the admin's column
# (``queue_places``). Each read starts with the flat ``{status, queued_at}`` filter
# of the (status, queued_at) index.

QUEUE_ORDER = {"queued_at": 1, "_id": 1}
_QUEUED = {"status": RoomStatus.QUEUED.value}


def queued_rooms(*, limit: int | None = None) -> list[Room]:
    """The waiting rooms in ``QUEUE_ORDER``."""
    pipeline: list[dict[str, Any]] = [{"$match": _QUEUED}, {"$sort": QUEUE_ORDER}]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return list(Room.objects.raw_aggregate(pipeline))


def queue_rooms_ahead(room: Room) -> int:
    """How many waiting rooms come before ``room`` in ``QUEUE_ORDER``: one count whose
    first stage is the index range ``queued_at <= room's``, then the tie on ``_id``."""
    rows = list(
        timeline.rooms_collection().aggregate(
            [
                {"$match": {**_QUEUED, "queued_at": {"$lte": room.queued_at}}},
                {
                    "$match": {
                        "$or": [
                            {"queued_at": {"$lt": room.queued_at}},
                            {"_id": {"$lt": room.pk}},
                        ]
                    }
                },
                {"$count": "n"},
            ]
        )
    )
    return int(rows[0]["n"]) if rows else 0


def queue_places() -> dict[ObjectId, int]:
    """Every waiting room's 1-based place (ids only), in ``QUEUE_ORDER``."""
    rows = timeline.rooms_collection().aggregate(
        [{"$match": _QUEUED}, {"$sort": QUEUE_ORDER}, {"$project": {"_id": 1}}]
    )
    return {row["_id"]: place for place, row in enumerate(rows, start=1)}


def active_room_counts() -> dict[ObjectId, int]:
    """Active rooms per agent, counted in the database."""
    rows = timeline.rooms_collection().aggregate(
        [
            {"$match": {"status": RoomStatus.ACTIVE.value}},
            {"$group": {"_id": "$agent_id", "n": {"$sum": 1}}},
        ]
    )
    return {row["_id"]: int(row["n"]) for row in rows if row["_id"] is not None}


def active_rooms_of(agent_id: object) -> list[Room]:
    return timeline.rooms({"agent_id": object_id(agent_id), "status": RoomStatus.ACTIVE.value})
