"""Private notes: a room's notes for its staff, one note, an admin's view of a note's
edits. A customer is refused before anything is read (``permission_denied``: whether a
room has notes is not theirs to learn)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat import dtos, render, timeline
from chat.models import EventKind, Room, RoomEvent
from chat.selectors.history import event_get_in_room
from chat.selectors.rooms import require_staff, room_get_for_user
from chat_project.errors import PermissionDenied

NOTES_MAX_LIMIT = 100

_NOTES = {"kind": EventKind.NOTE.value}


def note_get_in_room(*, room: Room, note_id: object) -> RoomEvent:
    return event_get_in_room(
        room=room, event_id=note_id, kind=EventKind.NOTE, missing="No such note."
    )


def note_list(
    *, room_id: object, user: User, after_seq: int = 0, limit: int = 50
) -> dict[str, Any]:
    """A room's notes in seq order after ``after_seq`` (deleted ones as tombstones),
    ``next`` = ``{"after_seq": n}`` while there are more. One read of the room's
    timeline from ``after_seq`` on (the (room_id, seq) index), narrowed to notes."""
    require_staff(user, "read private notes")
    limit = max(1, min(int(limit), NOTES_MAX_LIMIT))
    room = room_get_for_user(room_id=room_id, user=user)
    rows = timeline.events(room.pk, seq={"$gt": after_seq}, then=_NOTES, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "room_id": str(room.pk),
        "results": [
            render.note(base, audience=render.audience_of(user))
            for base in dtos.notes_base(rows, known=[user])
        ],
        "next": {"after_seq": rows[-1].seq} if more else None,
    }


def note_audit(*, room_id: object, note_id: object, user: User) -> dict[str, Any]:
    """Admins: a note with its original text and every edit's text (as
    ``message_audit`` for messages)."""
    if not user.is_admin:
        raise PermissionDenied("Only admins see edit history.")
    room = room_get_for_user(room_id=room_id, user=user)
    note = note_get_in_room(room=room, note_id=note_id)
    edits = timeline.events(
        room.pk, then={"kind": EventKind.NOTE_EDITED.value, "target_id": note.pk}
    )
    users = dtos.users_by_id({note.actor_id} | {e.actor_id for e in edits}, known=[user])
    return {
        "note": render.note(dtos.note_base(note, users), audience=render.audience_of(user)),
        "original_text": note.original_text if note.original_text is not None else note.text,
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
