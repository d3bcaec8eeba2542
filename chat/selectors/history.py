"""History: a room's messages page by page (the newest page cached), one message,
and an admin's view of a message's edits."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat import dtos, history_cache, render, timeline
from chat.models import EventKind, Room, RoomEvent
from chat.selectors.rooms import object_id, room_get_for_user
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed

HISTORY_MAX_LIMIT = 100

MESSAGES_ONLY = {"kind": EventKind.MESSAGE.value}


def event_get_in_room(*, room: Room, event_id: object, kind: str, missing: str) -> RoomEvent:
    """The event ``event_id`` of ``kind`` in ``room``; NotFound(``missing``) otherwise (an
    id of another room or kind is as unknown as a made-up one)."""
    event = timeline.event_by_id(object_id(event_id))
    if event is None or event.room_id != room.pk or event.kind != kind:
        raise NotFound(missing)
    return event


def message_room_id(*, message_id: object) -> str:
    """The room of a message (its receipt by id alone names no room); whether the caller
    may see it is for what they do next."""
    event = timeline.event_by_id(object_id(message_id))
    if event is None or event.kind != EventKind.MESSAGE:
        raise NotFound("No such message.")
    return str(event.room_id)


def message_get_in_room(*, room: Room, message_id: object) -> RoomEvent:
    return event_get_in_room(
        room=room, event_id=message_id, kind=EventKind.MESSAGE, missing="No such message."
    )


def _messages_before(room: Room, *, before: int, count: int) -> list[RoomEvent]:
    """Up to ``count`` messages with seq < ``before``, newest first. A window of seqs
    is tried first (messages are most of a timeline), so the scan is bounded by the
    page, not by the room; a sparse window falls back to everything below."""
    window = 2 * count
    rows = timeline.events(
        room.pk,
        seq={"$gte": before - window, "$lt": before},
        then=MESSAGES_ONLY,
        order=-1,
        limit=count,
    )
    if len(rows) < count and before - window > 1:
        rows = timeline.events(
            room.pk, seq={"$lt": before}, then=MESSAGES_ONLY, order=-1, limit=count
        )
    return rows


def _messages_after(room: Room, *, after: int, count: int) -> list[RoomEvent]:
    """Up to ``count`` messages with seq > ``after``, oldest first (windowed too)."""
    window = 2 * count
    rows = timeline.events(
        room.pk, seq={"$gt": after, "$lte": after + window}, then=MESSAGES_ONLY, limit=count
    )
    if len(rows) < count and after + window < room.last_seq:
        rows = timeline.events(room.pk, seq={"$gt": after}, then=MESSAGES_ONLY, limit=count)
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
            render.message(base, room=room, audience=render.audience_of(user))
            for base in page["messages"]
        ],
        "next": cursor,
        "last_seq": room.last_seq,
        "watermarks": dtos.watermarks_dto(room),
    }


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
        "message": render.message(
            dtos.message_base(message, users), room=room, audience=render.audience_of(user)
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
