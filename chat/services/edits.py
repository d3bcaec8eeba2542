"""Editing and deleting a message or a private note: the item's document is updated by
a guarded update in the same round as its ``*_edited`` / ``*_deleted`` event. The two
kinds share the whole procedure (:func:`timeline_item_edit`, :func:`timeline_item_delete`)
and so the audit: the original text kept by the first edit, every edit's text in its
event, the text of a deleted item kept for admins."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import Int64
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat import dtos, events, render, search_index, selectors, timeline
from chat import writer as writer_module
from chat.exceptions import RoomClosed
from chat.models import EventKind, Room, RoomEvent
from chat.services import inputs, outcomes
from chat.writer import Append, Place, Placed, Target, TargetMissed, steps
from chat_project.errors import Conflict, PermissionDenied


@dataclass(frozen=True)
class EditKinds:
    """What differs between editing a message and editing a note: the event kinds,
    whether the item carries search terms and whether a room keeps it as its newest
    (``Room.last_message``)."""

    noun: str
    edited: str
    deleted: str
    searchable: bool
    newest_kept: bool = False

    def newest_update(self, item: RoomEvent, changes: dict[str, Any]) -> Any:
        """The room's summary of ``item`` changed with it, where it is the newest."""
        if not self.newest_kept:
            return None
        fields = {f"last_message.{name}": value for name, value in changes.items()}
        return {"last_message.id": str(item.pk)}, {"$set": fields}


MESSAGES = EditKinds(
    noun="message",
    edited=EventKind.MESSAGE_EDITED,
    deleted=EventKind.MESSAGE_DELETED,
    searchable=True,
    newest_kept=True,
)


def require_can_modify(item: RoomEvent, actor: User, *, noun: str = "message") -> None:
    """Admins at any time; the author within the edit window; nobody else."""
    if actor.is_admin:
        return
    if item.actor_id != actor.pk:
        raise PermissionDenied(f"Only the author or an admin can change a {noun}.")
    window = timedelta(seconds=settings.CHAT_EDIT_WINDOW_SECONDS)
    if timezone.now() - item.created_at > window:
        raise PermissionDenied(f"The edit window for this {noun} has passed.")


def _edit_target(message: RoomEvent, text: str, now: datetime, *, searchable: bool) -> Target:
    """The item takes the edit's text unless it is deleted or an edit with a higher
    seq got there first (concurrent edits: the highest seq wins whatever order they
    land in). The first edit keeps the original."""

    def build(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
        condition: dict[str, Any] = {"deleted": False, "text_seq": {"$not": {"$gte": seq}}}
        changes = {"text": text, "edited_at": now, "text_seq": Int64(seq)}
        if searchable:
            changes["search_terms"] = search_index.search_terms(text, seq=message.seq)
        if message.original_text is None:
            condition["original_text"] = None
            changes["original_text"] = message.text
        return condition, {"$set": changes}

    return Target(event_id=message.pk, build=build)


def _as_edited(message: RoomEvent, *, text: str, now: datetime) -> RoomEvent:
    """``message`` as the edit leaves it (the database update, in memory; its
    ``text_seq`` is not shown)."""
    edited = copy.copy(message)
    if edited.original_text is None:
        edited.original_text = message.text
    edited.text, edited.edited_at = text, now
    return edited


def message_edit(*, room_id: str, message_id: str, actor: User, text: str) -> dict[str, Any]:
    """Replace a message's text. Returns ``{"room_id", "seq", "message"}``: the seq of
    the ``message_edited`` event and the message's current state.

    Concurrent edits of one message: each takes a seq; the message keeps the text of
    the highest seq whatever order they land in; every edit's text is kept in its
    event for admins (``selectors.message_audit``)."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    message = selectors.message_get_in_room(room=room, message_id=message_id)
    require_can_modify(message, actor)
    text = inputs.clean_text(text, allow_empty=bool(message.attachments))
    seq, shown, users = steps.run(
        timeline_item_edit(room=room, item=message, actor=actor, text=text, kinds=MESSAGES)
    )
    base = dtos.message_base(shown, users)
    return {
        "room_id": str(room.pk),
        "seq": seq,
        "message": render.message(base, room=room, audience=render.audience_of(actor)),
    }


def timeline_item_edit(
    *, room: Room, item: RoomEvent, actor: User, text: str, kinds: EditKinds
) -> steps.Steps[tuple[int, RoomEvent, dict[str, User]]]:
    """Write an edit of ``item`` (a message or a note the caller found in ``room`` and
    may change; ``text`` checked): ``(the edit's seq, the item as it now is, the users
    its shape needs)``. ``conflict`` if it was deleted, ``room_closed`` once closed."""
    if item.deleted:
        raise Conflict(f"The {kinds.noun} was deleted.")
    if not room.is_open:
        raise RoomClosed()
    now = timezone.now()
    users = dtos.users_by_id({item.actor_id}, known=[actor])
    edit = RoomEvent(
        room_id=room.pk,
        kind=kinds.edited,
        created_at=now,
        actor=actor,
        target_id=item.pk,
        text=text,
    )

    def notice(shown: RoomEvent) -> events.Notice:
        return events.Notice(scene=render.Scene(room=room, users=users, items={item.pk: shown}))

    def target(of: RoomEvent) -> Target:
        return _edit_target(of, text, now, searchable=kinds.searchable)

    shown = _as_edited(item, text=text, now=now)
    newest = kinds.newest_update(item, {"text": text})
    op = Append(
        room_id=room.pk,
        event=edit,
        target=target(item),
        known_seq=room.last_seq,
        notice=notice(shown),
        room_update=newest,
    )
    outcome = yield op
    for _attempt in range(writer_module.SEQ_ATTEMPTS):
        if not isinstance(outcome, TargetMissed):
            break
        # The guard missed: deleted, a later edit won, or a first edit kept the
        # original meanwhile. This edit holds its seq; decide what goes there.
        current = timeline.event_by_id(item.pk)
        edit.seq = outcome.seq
        if current is None or current.deleted:
            yield Place(event=RoomEvent(room_id=room.pk, seq=outcome.seq, kind=EventKind.NOOP))
            raise Conflict(f"The {kinds.noun} was deleted.")
        if (current.text_seq or 0) > outcome.seq:  # kept in its event for admins
            shown = current
            outcome = yield Place(event=edit, notice=notice(shown))
        else:
            shown = _as_edited(current, text=text, now=now)
            outcome = yield Place(
                event=edit, target=target(current), notice=notice(shown), room_update=newest
            )
    if not isinstance(outcome, Placed):
        outcomes.appended(outcome, op)
    return edit.seq, shown, users


def message_delete(*, room_id: str, message_id: str, actor: User) -> dict[str, Any]:
    """Tombstone a message: its text stays for admins, others see ``deleted`` with an
    empty text. Deleting a deleted message returns the first delete's seq."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    message = selectors.message_get_in_room(room=room, message_id=message_id)
    require_can_modify(message, actor)
    seq = steps.run(timeline_item_delete(room=room, item=message, actor=actor, kinds=MESSAGES))
    return {"room_id": str(room.pk), "message_id": str(message.pk), "seq": seq}


def timeline_item_delete(
    *, room: Room, item: RoomEvent, actor: User, kinds: EditKinds
) -> steps.Steps[int]:
    """Tombstone ``item`` (found in ``room``, the caller may change it) and return the
    seq of its ``*_deleted`` event (the first delete's, when it was deleted already)."""
    if item.deleted:
        return item.deleted_seq
    if not room.is_open:
        raise RoomClosed()
    now = timezone.now()

    def tombstone(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
        changes = {"deleted": True, "deleted_at": now, "deleted_seq": Int64(seq)}
        return {"deleted": False}, {"$set": {**changes, "search_terms": None}}

    deletion = RoomEvent(
        room_id=room.pk,
        kind=kinds.deleted,
        created_at=now,
        actor=actor,
        target_id=item.pk,
    )
    op = Append(
        room_id=room.pk,
        event=deletion,
        target=Target(event_id=item.pk, build=tombstone),
        known_seq=room.last_seq,
        notice=events.Notice(scene=render.Scene(room=room)),
        room_update=kinds.newest_update(item, {"deleted": True}),
    )
    outcome = yield op
    if isinstance(outcome, TargetMissed):  # a concurrent delete won: its seq is the answer
        yield Place(event=RoomEvent(room_id=room.pk, seq=outcome.seq, kind=EventKind.NOOP))
        return timeline.event_by_id(item.pk).deleted_seq
    outcomes.appended(outcome, op)
    return deletion.seq
