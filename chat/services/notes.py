"""Private notes: what agents and admins write in a room's timeline for each other.

A note takes the room's next seq like any event (one ``Append`` of the timeline
writer, while the room is open and, for an agent, while the room is still theirs) and
is edited and deleted like a message (``chat.services.edits``: the same guarded update,
the same audit). Its customer never receives one: the rendering of every path
(``chat.render``) shows them to staff only, and history, search and unread counts read
messages only. A transfer's note becomes a note (:func:`transfer_note_add`).
"""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId
from django.utils import timezone

from accounts.models import User
from chat import dtos, events, render, selectors
from chat.exceptions import RoomClosed
from chat.models import EventKind, RoomEvent
from chat.services import inputs, outcomes
from chat.services.edits import (
    EditKinds,
    require_can_modify,
    timeline_item_delete,
    timeline_item_edit,
)
from chat.writer import Append, steps
from chat_project.errors import DomainError

logger = logging.getLogger(__name__)


NOTES = EditKinds(
    noun="note",
    edited=EventKind.NOTE_EDITED,
    deleted=EventKind.NOTE_DELETED,
    searchable=False,
)


def _append(
    *,
    room_id: ObjectId,
    author: User,
    text: str,
    data: dict[str, Any] | None,
    require: dict[str, Any],
    known_seq: int | None,
) -> steps.Steps[RoomEvent]:
    note = RoomEvent(
        room_id=room_id,
        kind=EventKind.NOTE,
        created_at=timezone.now(),
        actor=author,
        text=text,
        data=data,
    )
    op = Append(
        room_id=room_id,
        event=note,
        require=require,
        known_seq=known_seq,
        notice=events.Notice(scene=render.Scene(room=None, users={str(author.pk): author})),
    )
    return outcomes.appended((yield op), op)


def note_add(**kwargs: Any) -> dict[str, Any]:
    """:func:`note_add_steps` on this thread."""
    return steps.run(note_add_steps(**kwargs))


def note_add_steps(*, room_id: str, author: User, text: str) -> steps.Steps[dict[str, Any]]:
    """Add a private note (agents to their rooms, admins to any room; open rooms only)
    and return it once durable; ``note-added`` goes to the room's staff."""
    yield steps.IN_THREAD
    selectors.require_staff(author, "write private notes")
    room = selectors.room_get_for_user(room_id=room_id, user=author)
    text = inputs.clean_text(text)
    if not room.is_open:
        raise RoomClosed()
    note = yield from _append(
        room_id=room.pk,
        author=author,
        text=text,
        data=None,
        require=outcomes.as_author(author),
        known_seq=room.last_seq,
    )
    base = dtos.note_base(note, {str(author.pk): author})
    return render.note(base, audience=render.audience_of(author))


def transfer_note_add(
    *, room_id: ObjectId, author: User, text: str, transfer: dict[str, Any], known_seq: int
) -> RoomEvent | None:
    """The note given with a transfer (to an agent or to a team's queue), as a private
    note right after the transfer's event (``chat.assignment``): that event, which the
    customer receives, never carries it. Its author may just have handed the room over,
    so only an open room is required. Not written (logged): a blank note, or a room
    closed in the instant between the two (the transfer stands; the routing audit log
    keeps the note)."""
    if not text.strip():
        return None
    try:
        return steps.run(
            _append(
                room_id=room_id,
                author=author,
                text=inputs.clean_text(text),
                data={"transfer": transfer},
                require={},
                known_seq=known_seq,
            )
        )
    except DomainError as exc:
        logger.warning("the transfer note of room %s was not written: %s", room_id, exc)
        return None


def note_edit(*, room_id: str, note_id: str, actor: User, text: str) -> dict[str, Any]:
    """Replace a note's text (its author within ``CHAT_EDIT_WINDOW_SECONDS``, admins at
    any time). Returns ``{"room_id", "seq", "note"}``: the seq of the ``note_edited``
    event and the note's current state; ``note-updated`` goes to the room's staff."""
    selectors.require_staff(actor, "edit private notes")
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    note = selectors.note_get_in_room(room=room, note_id=note_id)
    require_can_modify(note, actor, noun="note")
    text = inputs.clean_text(text)
    seq, shown, users = steps.run(
        timeline_item_edit(room=room, item=note, actor=actor, text=text, kinds=NOTES)
    )
    base = dtos.note_base(shown, users)
    return {
        "room_id": str(room.pk),
        "seq": seq,
        "note": render.note(base, audience=render.audience_of(actor)),
    }


def note_delete(*, room_id: str, note_id: str, actor: User) -> dict[str, Any]:
    """Tombstone a note (its text stays for admins). ``note-deleted`` to the staff."""
    selectors.require_staff(actor, "delete private notes")
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    note = selectors.note_get_in_room(room=room, note_id=note_id)
    require_can_modify(note, actor, noun="note")
    seq = steps.run(timeline_item_delete(room=room, item=note, actor=actor, kinds=NOTES))
    return {"room_id": str(room.pk), "note_id": str(note.pk), "seq": seq}
