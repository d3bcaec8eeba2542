"""Sending a message: one body for every path (a socket, REST, a room's first
message); retries answered from the stored copy without taking a seq."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from django.utils import timezone

from accounts.models import User
from chat import dtos, events, render, selectors, timeline
from chat.exceptions import IdempotencyConflict
from chat.models import Attachment, EventKind, RoomEvent
from chat.services import inputs, outcomes, participants
from chat.writer import Append, Duplicate, steps
from chat_project.errors import Conflict, ValidationFailed

# A send key without its message: how long a retry waits for a round still on its way
# before it treats the key as left behind by a crash (crash point 1).
SEND_KEY_SETTLE_SECONDS = 0.25


def message_send(**kwargs: Any) -> dict[str, Any]:
    """The message of :func:`message_send_or_replay` (the same arguments), for callers
    that need not tell a new message from a retry."""
    message, _created = message_send_or_replay(**kwargs)
    return message


def message_send_or_replay(**kwargs: Any) -> tuple[dict[str, Any], bool]:
    """:func:`message_send_steps` on this thread (REST, routing, commands)."""
    return steps.run(message_send_steps(**kwargs))


def message_send_steps(
    *,
    room_id: str,
    sender: User,
    client_msg_id: str,
    text: str,
    attachment_ids: Iterable[str] = (),
    known_seq: int | None = None,
) -> steps.Steps[tuple[dict[str, Any], bool]]:
    """Store a message once per (room, sender, client_msg_id) and return it once the
    write is durable, with True for a new message and False for a retry (REST answers
    201 or 200). A retry returns the stored message (same ``seq``); the same id with
    other text or attachments is ``idempotency_conflict``. ``known_seq``: the room's
    seq as the caller last saw it (a socket following the room), which saves the writer
    reading the room. Every path runs this body (``chat.writer.steps``).

    Commands: none before the writer's round for a text message (who may post and
    whether the room is open are conditions of the round's compare-and-set), and no
    thread hop from a socket; one read of the attachments and one update linking them
    for a message that has some; a retry reads the stored message and the room."""
    room_oid = selectors.object_id(room_id)
    client_msg_id = inputs.clean_client_msg_id(client_msg_id)
    attachment_ids = inputs.clean_attachment_ids(attachment_ids)
    text = inputs.clean_text(text, allow_empty=bool(attachment_ids))
    participant = participants.participant_field(sender)
    if participant is None:
        yield steps.IN_THREAD
        raise participants.not_a_participant(room_id=room_id, user=sender)
    key = timeline.idem_key(room_oid, sender.pk, client_msg_id)
    if attachment_ids:
        yield steps.IN_THREAD
        # A retry's attachments are linked already: answer it before checking them.
        stored = timeline.message_by_idem_key(key)
        if stored is not None:
            return _replayed(stored, room_oid, sender, text, attachment_ids), False
    attachments = _attachments_to_send(room_oid, sender, attachment_ids)
    for _attempt in range(2):
        now = timezone.now()
        message = RoomEvent(
            room_id=room_oid,
            kind=EventKind.MESSAGE,
            created_at=now,
            actor=sender,
            client_msg_id=client_msg_id,
            idem_key=key,
            text=text,
            attachments=[dtos.attachment_snapshot(a) for a in attachments] or None,
        )
        users = {str(sender.pk): sender}
        op = Append(
            room_id=room_oid,
            event=message,
            require={participant: sender.pk},
            set_once={"first_agent_reply_at": now} if participant == "agent_id" else {},
            idem_key=key,
            known_seq=known_seq,
            stamp=_newest,
            notice=events.Notice(scene=render.Scene(room=None, users=users)),
        )
        outcome = yield op
        if not isinstance(outcome, Duplicate):
            outcomes.appended(outcome, op)
            if attachments:
                # By id alone (a flat, indexed filter); they were checked unsent above.
                Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
                    message=message
                )
            base = dtos.message_base(message, users)
            return render.message(base, room=None, audience=render.audience_of(sender)), True
        yield steps.IN_THREAD
        replayed = _replay_sent(room_oid, sender, key, text=text, attachment_ids=attachment_ids)
        if replayed is not None:
            return replayed, False
    raise Conflict("The message could not be stored; try again.")


def _newest(message: RoomEvent) -> dict[str, Any]:
    """The room's ``last_message``, set by the send's own compare-and-set."""
    if message.pk is None:
        message.pk = ObjectId()
    return {"last_message": dtos.message_summary(message)}


def _attachments_to_send(
    room_id: ObjectId, sender: User, attachment_ids: list[str]
) -> list[Attachment]:
    """The sender's unsent uploads to this room, in the order given."""
    if not attachment_ids:
        return []
    found = {
        str(a.pk): a
        for a in Attachment.objects.filter(pk__in=[ObjectId(i) for i in attachment_ids])
        if a.room_id == room_id and a.uploader_id == sender.pk and a.message_id is None
    }
    if len(found) != len(attachment_ids):
        raise ValidationFailed(details={"fields": {"attachment_ids": ["Unknown attachment."]}})
    return [found[i] for i in attachment_ids]


def _replay_sent(
    room_id: ObjectId, sender: User, key: str, *, text: str, attachment_ids: list[str]
) -> dict[str, Any] | None:
    """The stored answer to a retried send (see :func:`_replayed`), or None when the key
    has no message (crash point 1): then the key is discarded and the caller sends
    again."""
    for attempt in range(2):
        stored = timeline.message_by_idem_key(key)
        if stored is not None:
            return _replayed(stored, room_id, sender, text, attachment_ids)
        if attempt == 0:  # a round of another process may be between the two inserts
            time.sleep(SEND_KEY_SETTLE_SECONDS)
    timeline.discard_send_key(key)
    return None


def _replayed(
    stored: RoomEvent, room_id: ObjectId, sender: User, text: str, attachment_ids: list[str]
) -> dict[str, Any]:
    """The message as first stored, or ``idempotency_conflict`` if the retry is not the
    same message."""
    stored_ids = sorted(a["id"] for a in (stored.attachments or []))
    original = stored.original_text if stored.original_text is not None else stored.text
    if original != text or stored_ids != sorted(attachment_ids):
        raise IdempotencyConflict(details={"message_id": str(stored.pk), "seq": stored.seq})
    room = selectors.room_get_for_user(room_id=room_id, user=sender)
    base = dtos.message_base(stored, {str(sender.pk): sender})
    return render.message(base, room=room, audience=render.audience_of(sender))
