"""Reads of rooms, history, replay, search and unread counts.

Visibility (every room-facing read and write starts here, :func:`visible_rooms`):

- a customer (role ``user``) sees the rooms they opened;
- an agent sees the rooms currently assigned to them: after a transfer the previous
  agent loses access, and a queued room is seen by no agent;
- an admin sees every room;
- anything else is a 404 ``not_found``, never a 403, so room ids leak nothing.

Reads return dicts and lists, never lazy QuerySets. ``select_related`` is not used:
the backend places its ``$lookup`` before the ``$match`` (a join of the whole
collection); users are fetched by id in one query instead (``dtos.users_by_id``).
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from django.db import connections
from django.db.models import Q, QuerySet

from accounts.models import User
from chat import dtos, events, history_cache
from chat.conf import chat_setting
from chat.exceptions import ResyncRequired
from chat.models import OPEN_STATUSES, Attachment, EventKind, Room, RoomEvent, RoomStatus
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


def visible_rooms(user: User) -> QuerySet[Room]:
    if not user.is_authenticated:
        return Room.objects.none()
    if user.is_admin:
        return Room.objects.all()
    if user.is_agent:
        return Room.objects.filter(agent=user)
    return Room.objects.filter(customer=user)


def room_get_for_user(*, room_id: object, user: User) -> Room:
    try:
        return visible_rooms(user).get(pk=object_id(room_id))
    except Room.DoesNotExist:
        raise NotFound("No such room.") from None


def is_participant(room: Room, user: User) -> bool:
    return user.pk in (room.customer_id, room.agent_id)


def room_detail(*, room_id: object, user: User) -> dict[str, Any]:
    room = room_get_for_user(room_id=room_id, user=user)
    return {**dtos.room_dto_one(room, known=[user]), "queue_position": room_queue_position(room)}


def room_queue_position(room: Room) -> int | None:
    """1-based place in the FIFO queue (by ``queued_at``), None unless queued."""
    if room.status != RoomStatus.QUEUED or room.queued_at is None:
        return None
    ahead = Room.objects.filter(status=RoomStatus.QUEUED, queued_at__lt=room.queued_at).count()
    return ahead + 1


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
        rooms = Room.objects.filter(agent=user)
    else:
        rooms = visible_rooms(user)
    if status:
        rooms = rooms.filter(status=status)
    if cursor:
        try:
            rooms = rooms.filter(pk__lt=ObjectId(cursor))
        except (InvalidId, TypeError):
            raise ValidationFailed(details={"fields": {"cursor": ["Invalid cursor."]}}) from None
    rows = list(rooms.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": dtos.rooms_dto(rows, known=[user]),
        "next": str(rows[-1].pk) if more else None,
    }


def room_ids_for_user(*, user: User) -> list[str]:
    """Open rooms the user may see now (admins: every open room)."""
    ids = visible_rooms(user).filter(status__in=OPEN_STATUSES).values_list("pk", flat=True)
    return [str(pk) for pk in ids]


def _messages(room: Room) -> QuerySet[RoomEvent]:
    return RoomEvent.objects.filter(room=room, kind=EventKind.MESSAGE)


def message_get_in_room(*, room: Room, message_id: object) -> RoomEvent:
    try:
        return _messages(room).get(pk=object_id(message_id))
    except RoomEvent.DoesNotExist:
        raise NotFound("No such message.") from None


def _page_is_complete(room: Room, *, low_seq: int) -> bool:
    """True when every seq in [low_seq, last_seq] is written. A concurrent send may
    have reserved a seq and not inserted it yet; caching a page read in that window
    would freeze the message out of it, so such a page is served but not cached."""
    expected = room.last_seq - low_seq + 1
    if expected <= 0:
        return True
    written = RoomEvent.objects.filter(room=room, seq__gte=low_seq, seq__lte=room.last_seq).count()
    return written == expected


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
    page: dict[str, Any] | None = None
    if after_seq is not None:
        rows = list(_messages(room).filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        page = {"messages": dtos.messages_base(rows, known=[user]), "more": more}
        cursor = {"after_seq": rows[-1].seq} if more else None
    else:
        newest = before_seq is None
        if newest:
            page = history_cache.page_get(room_id=room.pk, last_seq=room.last_seq, limit=limit)
        if page is None:
            rows = _messages(room)
            if before_seq is not None:
                rows = rows.filter(seq__lt=before_seq)
            rows = list(rows.order_by("-seq")[: limit + 1])
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

    Holes (a seq reserved by a writer that crashed before its insert) are tolerated:
    ``last_seq`` is the room's, so the client's cursor moves past them. A hole left
    by an edit or delete that updated the message but crashed before inserting its
    event is repaired here from the message's ``text_seq`` / ``deleted_seq``.
    With ``has_more`` the client asks again from ``cursor``.
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
    rows = list(RoomEvent.objects.filter(room=room, seq__gt=after_seq).order_by("seq")[:limit])
    more = len(rows) == limit and rows[-1].seq < room.last_seq
    cursor = rows[-1].seq if more else room.last_seq
    present = {row.seq for row in rows}
    holes = [seq for seq in range(after_seq + 1, cursor + 1) if seq not in present]
    target_ids = {
        row.target_id
        for row in rows
        if row.kind in (EventKind.MESSAGE_EDITED, EventKind.MESSAGE_DELETED) and row.target_id
    }
    targets: dict[object, RoomEvent] = {row.pk: row for row in rows if row.kind == "message"}
    wanted = Q(pk__in=list(target_ids - set(targets)))
    if holes:
        wanted |= Q(text_seq__in=holes) | Q(deleted_seq__in=holes)
    if target_ids - set(targets) or holes:
        for message in _messages(room).filter(wanted):
            targets[message.pk] = message
    users = dtos.users_by_id(
        {m.actor_id for m in targets.values()} | {room.customer_id, room.agent_id}, known=[user]
    )
    bases = {pk: dtos.message_base(m, users) for pk, m in targets.items()}

    def current(pk: object) -> dict[str, Any]:
        return dtos.message_for_viewer(bases[pk], room=room, viewer=user)

    rid = str(room.pk)
    timeline: list[tuple[int, str, dict[str, Any]]] = []
    for row in rows:
        data: dict[str, Any] = {"room_id": rid, "seq": row.seq}
        if row.kind == EventKind.MESSAGE:
            timeline.append((row.seq, events.NEW_MESSAGE, {**data, "message": current(row.pk)}))
        elif row.kind == EventKind.MESSAGE_EDITED and row.target_id in bases:
            message = current(row.target_id)
            timeline.append((row.seq, events.MESSAGE_UPDATED, {**data, "message": message}))
        elif row.kind == EventKind.MESSAGE_DELETED:
            message_id = str(row.target_id)
            timeline.append((row.seq, events.MESSAGE_DELETED, {**data, "message_id": message_id}))
        elif row.kind in _KIND_EVENT:
            room_data = {**(row.data or {}), **data, "room": dtos.room_dto(room, users)}
            timeline.append((row.seq, _KIND_EVENT[row.kind], room_data))
        elif row.kind == EventKind.SYSTEM:
            timeline.append(
                (row.seq, events.SYSTEM_MESSAGE, {**(row.data or {}), **data, "text": row.text})
            )
    hole_set = set(holes)
    for pk, message in targets.items():
        if message.text_seq in hole_set:
            data = {"room_id": rid, "seq": message.text_seq, "message": current(pk)}
            timeline.append((message.text_seq, events.MESSAGE_UPDATED, data))
        if message.deleted_seq in hole_set:
            data = {"room_id": rid, "seq": message.deleted_seq, "message_id": str(pk)}
            timeline.append((message.deleted_seq, events.MESSAGE_DELETED, data))
    timeline.sort(key=lambda item: item[0])
    return {
        "room_id": rid,
        "events": [{"event": name, "data": data} for _, name, data in timeline],
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
    """Messages containing every word of ``q`` (case-insensitive substrings), newest
    first, paged by seq (``next`` = ``{"before_seq": n}``).

    Each word is ``re.escape``d and matched with ``$regex`` / ``$options: "i"``: the
    input is never a pattern or an operator (``.*``, ``$where`` and ``(`` are plain
    text). The unique (room, seq) index narrows the scan to the room and walks it in
    seq order; the regex is then evaluated on that room's messages only (a text
    index cannot do substrings, and rooms are small next to the collection).
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
    rows = _messages(room).filter(deleted=False)
    for word in words:
        rows = rows.filter(text__iregex=re.escape(word))
    if before_seq is not None:
        rows = rows.filter(seq__lt=before_seq)
    rows = list(rows.order_by("-seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": [
            dtos.message_for_viewer(base, room=room, viewer=user)
            for base in dtos.messages_base(rows, known=[user])
        ],
        "next": {"before_seq": rows[-1].seq} if more else None,
    }


def unread_counts(*, user: User) -> dict[str, Any]:
    """Messages from others above the caller's read watermark, per open room the
    caller takes part in (customer or assigned agent; admins take part in none).
    One query for the rooms, then one aggregation counts in the database."""
    rooms = list(
        Room.objects.filter(Q(customer=user) | Q(agent=user), status__in=OPEN_STATUSES).only(
            "id", "watermarks"
        )
    )
    counts = {str(room.pk): 0 for room in rooms}
    if rooms:
        collection = connections["default"].get_collection(RoomEvent._meta.db_table)
        pipeline = [
            {
                "$match": {
                    "$or": [
                        {"room_id": room.pk, "seq": {"$gt": room.watermark(user.pk)[1]}}
                        for room in rooms
                    ],
                    "kind": EventKind.MESSAGE.value,
                    "deleted": False,
                    "actor_id": {"$ne": user.pk},
                }
            },
            {"$group": {"_id": "$room_id", "n": {"$sum": 1}}},
        ]
        for row in collection.aggregate(pipeline):
            counts[str(row["_id"])] = int(row["n"])
    return {"total": sum(counts.values()), "rooms": counts}


def message_audit(*, room_id: object, message_id: object, user: User) -> dict[str, Any]:
    """Admins: a message with its original text and every edit's text."""
    room = room_get_for_user(room_id=room_id, user=user)
    if not user.is_admin:
        raise PermissionDenied("Only admins see edit history.")
    message = message_get_in_room(room=room, message_id=message_id)
    edits = list(
        RoomEvent.objects.filter(room=room, kind=EventKind.MESSAGE_EDITED, target=message).order_by(
            "seq"
        )
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
    try:
        attachment = Attachment.objects.get(pk=object_id(attachment_id))
    except Attachment.DoesNotExist:
        raise NotFound("No such attachment.") from None
    if not visible_rooms(user).filter(pk=attachment.room_id).exists():
        raise NotFound("No such attachment.")
    if user.is_admin:
        return attachment
    if attachment.message_id is None:
        if attachment.uploader_id != user.pk:
            raise NotFound("No such attachment.")
    elif RoomEvent.objects.filter(pk=attachment.message_id, deleted=True).exists():
        raise NotFound("No such attachment.")
    return attachment
