"""Tags on rooms: agents (on their rooms) and admins (on any) add and remove them while
the room is open. Each change is a ``tagged`` / ``untagged`` timeline event whose
compare-and-set also changes the room's ``tags`` ($addToSet / $pull: concurrent changes
of different tags never conflict), so rooms are listed and counted by tag from the room
documents (the (tags, agent) index) and the history says who tagged what when. Staff
only: ``room-tagged`` / ``room-untagged`` go to the room's agents and admins."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import User
from chat import events, render, selectors
from chat.exceptions import RoomClosed
from chat.models import EventKind, RoomEvent
from chat.services import outcomes
from chat.tags import TAGS_PER_ROOM, clean_tag
from chat.writer import Append
from chat_project.errors import ValidationFailed


def room_tag(*, room_id: str, actor: User, tag: str) -> dict[str, Any]:
    """Add ``tag`` to a room: ``{"room_id", "seq", "tag", "tags"}`` (``seq`` None when
    the room had it already: nothing is written)."""
    return _change(room_id=room_id, actor=actor, tag=tag, add=True)


def room_untag(*, room_id: str, actor: User, tag: str) -> dict[str, Any]:
    """Remove ``tag`` from a room (``seq`` None when the room did not have it)."""
    return _change(room_id=room_id, actor=actor, tag=tag, add=False)


def _change(*, room_id: str, actor: User, tag: str, add: bool) -> dict[str, Any]:
    selectors.require_staff(actor, "tag rooms")
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    tag = clean_tag(tag)
    tags = list(room.tags or [])
    answer = {"room_id": str(room.pk), "seq": None, "tag": tag}
    if (tag in tags) == add:
        return {**answer, "tags": tags}
    if not room.is_open:
        raise RoomClosed()
    if add and len(tags) >= TAGS_PER_ROOM:
        raise ValidationFailed(
            f"A room has at most {TAGS_PER_ROOM} tags.",
            details={"fields": {"tag": [f"At most {TAGS_PER_ROOM} tags per room."]}},
        )
    event = RoomEvent(
        room_id=room.pk,
        kind=EventKind.TAGGED if add else EventKind.UNTAGGED,
        created_at=timezone.now(),
        actor=actor,
        data={"tag": tag},
    )
    change = {"tags": [tag]}
    op = Append(
        room_id=room.pk,
        event=event,
        require=outcomes.as_author(actor),
        add_to_set=change if add else {},
        pull={} if add else change,
        known_seq=room.last_seq,
        notice=events.Notice(scene=render.Scene(room=None, users={str(actor.pk): actor})),
    )
    outcomes.written(op)
    # As this change leaves them (a concurrent change of another tag may be missing).
    tags = [*tags, tag] if add else [t for t in tags if t != tag]
    return {**answer, "seq": event.seq, "tags": tags}
