"""Editing and deleting a message: the message document is updated by a guarded
update in the same round as the ``message_edited`` / ``message_deleted`` event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import Int64
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat import dtos, events, search_index, selectors, timeline
from chat import writer as writer_module
from chat.exceptions import RoomClosed
from chat.models import EventKind, RoomEvent
from chat.services import inputs
from chat.writer import Append, Place, Refused, Target, TargetMissed, timeline_writer
from chat_project.errors import Conflict, NotFound, PermissionDenied


def _require_can_modify(message: RoomEvent, actor: User) -> None:
    """Admins at any time; the author within the edit window; nobody else."""
    if actor.is_admin:
        return
    if message.actor_id != actor.pk:
        raise PermissionDenied("Only the author or an admin can change a message.")
    window = timedelta(seconds=settings.CHAT_EDIT_WINDOW_SECONDS)
    if timezone.now() - message.created_at > window:
        raise PermissionDenied("The edit window for this message has passed.")


def _edit_target(message: RoomEvent, text: str, now: datetime) -> Target:
    """The message takes the edit's text unless it is deleted or an edit with a higher
    seq got there first (concurrent edits: the highest seq wins whatever order they
    land in). The first edit keeps the original."""

    def build(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
        condition: dict[str, Any] = {"deleted": False, "text_seq": {"$not": {"$gte": seq}}}
        changes = {
            "text": text,
            "edited_at": now,
            "text_seq": Int64(seq),
            "search_terms": search_index.search_terms(text, seq=message.seq),
        }
        if message.original_text is None:
            condition["original_text"] = None
            changes["original_text"] = message.text
        return condition, {"$set": changes}

    return Target(event_id=message.pk, build=build)


def _as_edited(message: RoomEvent, *, text: str, seq: int, now: datetime) -> RoomEvent:
    """``message`` as an edit at ``seq`` leaves it (the database update, in memory)."""
    edited = copy.copy(message)
    if edited.original_text is None:
        edited.original_text = message.text
    edited.text, edited.text_seq, edited.edited_at = text, seq, now
    return edited


def message_edit(*, room_id: str, message_id: str, actor: User, text: str) -> dict[str, Any]:
    """Replace a message's text. Returns ``{"room_id", "seq", "message"}``: the seq of
    the ``message_edited`` event and the message's current state.

    Concurrent edits of one message: each takes a seq; the message keeps the text of
    the highest seq whatever order they land in; every edit's text is kept in its
    event for admins (``selectors.message_audit``)."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    message = selectors.message_get_in_room(room=room, message_id=message_id)
    _require_can_modify(message, actor)
    text = inputs.clean_text(text, allow_empty=bool(message.attachments))
    if message.deleted:
        raise Conflict("The message was deleted.")
    if not room.is_open:
        raise RoomClosed()
    now = timezone.now()
    users = dtos.users_by_id({message.actor_id}, known=[actor])
    edit = RoomEvent(
        room_id=room.pk,
        kind=EventKind.MESSAGE_EDITED,
        created_at=now,
        actor=actor,
        target_id=message.pk,
        text=text,
    )
    result: dict[str, RoomEvent] = {}

    def publish_as(current: RoomEvent | None) -> Callable[[RoomEvent], None]:
        def publish(event: RoomEvent) -> None:
            shown = current or _as_edited(message, text=text, seq=event.seq, now=now)
            result["message"] = shown
            base = dtos.message_public(dtos.message_base(shown, users))
            events.message_updated(room_id=room.pk, seq=event.seq, message=base)

        return publish

    outcome = timeline_writer().submit(
        Append(
            room_id=room.pk,
            event=edit,
            target=_edit_target(message, text, now),
            known_seq=room.last_seq,
            on_written=publish_as(None),
        )
    )
    for _attempt in range(writer_module.SEQ_ATTEMPTS):
        if not isinstance(outcome, TargetMissed):
            break
        # The guard missed: deleted, a later edit won, or a first edit kept the
        # original meanwhile. This edit holds its seq; decide what goes there.
        current = timeline.event_by_id(message.pk)
        edit.seq = outcome.seq
        if current is None or current.deleted:
            _place(RoomEvent(room_id=room.pk, seq=outcome.seq, kind=EventKind.NOOP))
            raise Conflict("The message was deleted.")
        if (current.text_seq or 0) > outcome.seq:  # kept in its event for admins
            outcome = _place(edit, on_written=publish_as(current))
        else:
            outcome = _place(
                edit,
                target=_edit_target(current, text, now),
                on_written=publish_as(_as_edited(current, text=text, seq=edit.seq, now=now)),
            )
    if isinstance(outcome, Refused):
        raise RoomClosed() if outcome.room is not None else NotFound("No such room.")
    shown = result.get("message") or _as_edited(message, text=text, seq=edit.seq, now=now)
    base = dtos.message_base(shown, users)
    return {
        "room_id": str(room.pk),
        "seq": edit.seq,
        "message": dtos.message_for_viewer(base, room=room, viewer=actor),
    }


def message_delete(*, room_id: str, message_id: str, actor: User) -> dict[str, Any]:
    """Tombstone a message: its text stays for admins, others see ``deleted`` with an
    empty text. Deleting a deleted message returns the first delete's seq."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    message = selectors.message_get_in_room(room=room, message_id=message_id)
    _require_can_modify(message, actor)
    answer = {"room_id": str(room.pk), "message_id": str(message.pk)}
    if message.deleted:
        return {**answer, "seq": message.deleted_seq}
    if not room.is_open:
        raise RoomClosed()
    now = timezone.now()

    def tombstone(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
        changes = {"deleted": True, "deleted_at": now, "deleted_seq": Int64(seq)}
        return {"deleted": False}, {"$set": {**changes, "search_terms": None}}

    def publish(event: RoomEvent) -> None:
        events.message_deleted(room_id=room.pk, seq=event.seq, message_id=message.pk)

    deletion = RoomEvent(
        room_id=room.pk,
        kind=EventKind.MESSAGE_DELETED,
        created_at=now,
        actor=actor,
        target_id=message.pk,
    )
    outcome = timeline_writer().submit(
        Append(
            room_id=room.pk,
            event=deletion,
            target=Target(event_id=message.pk, build=tombstone),
            known_seq=room.last_seq,
            on_written=publish,
        )
    )
    if isinstance(outcome, TargetMissed):  # a concurrent delete won: its seq is the answer
        _place(RoomEvent(room_id=room.pk, seq=outcome.seq, kind=EventKind.NOOP))
        return {**answer, "seq": timeline.event_by_id(message.pk).deleted_seq}
    if isinstance(outcome, Refused):
        raise RoomClosed() if outcome.room is not None else NotFound("No such room.")
    return {**answer, "seq": deletion.seq}


def _place(
    event: RoomEvent,
    *,
    target: Target | None = None,
    on_written: Callable[[RoomEvent], None] | None = None,
):
    """Put ``event`` at the seq it carries (one this change already holds)."""
    return timeline_writer().submit(Place(event=event, target=target, on_written=on_written))
