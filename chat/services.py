"""Chat writes: rooms, messages, edits, deletes, receipts, attachments.

Every change to a room's history goes through :mod:`chat.writer` (group commit, one
ordered ``bulkWrite`` per round): a function here validates and authorises what it can
without reading, builds the event, submits it, and answers from the outcome. What it
is told about a room (a socket's ``known_seq``) only saves the writer a read; nothing
else differs between a socket and REST.

How a room's history stays consistent without transactions
-----------------------------------------------------------
Each change takes the room's next ``seq`` by a compare-and-set on the room document
(``last_seq`` n -> n+1 while the room is open and the actor still takes part), and its
event is inserted at that seq in the same command; a unique (room, seq) index makes a
seq impossible to use twice, and a send's key (``chat_sendkey``, inserted before the
compare-and-set) makes a retry find the first copy without taking a seq. Events are
published only once the round is durable, in seq order.

Crash points (``chat.writer`` explains why only a database crash can stop a round
half-way) and why each is safe:

1. Send key written, seq not taken: a retry finds the key but no message; after a
   moment the key is discarded and the send goes through (:func:`_replay_sent`).
2. Seq taken, event not written: a hole. Replay skips it and reports the room's
   ``last_seq``; once settled, ``chat.holes`` fills it with a ``noop``. The client got
   no ack and retries with the same ``client_msg_id``.
3. Edit or delete: the message document is updated (guarded: not deleted, no later
   edit) right before the ``message_edited`` / ``message_deleted`` event goes in; a
   crash between them leaves the new text with a hole at its seq, which replay rebuilds
   from the message's ``text_seq`` / ``deleted_seq`` (``selectors.room_events_after``).
4. A send with attachments links them after its ack: the message carries its
   attachment snapshot and downloads are authorised by room, so nothing is lost; the
   file only stays "unsent" for the link check.
5. Create: one insert guarded by the unique ``open_key`` index; the optional first
   message is a normal send afterwards (crash: an open room without it).
6. Receipts: one ``$max`` update; nothing to pair.

Redis (cache, channel layer) is written only after MongoDB, and only as an
optimisation: a lost publish is caught up by replay, a cached page is keyed by
``last_seq`` so it can never shadow a newer write.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import Int64, ObjectId
from django.core.files.storage import storages
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import Role, User
from chat import dtos, events, search_index, selectors, signals, timeline
from chat import writer as writer_module
from chat.attachments import EXTENSIONS, safe_filename, sniff_file
from chat.conf import chat_setting
from chat.exceptions import IdempotencyConflict, RoomClosed
from chat.models import Attachment, EventKind, Room, RoomEvent, RoomStatus
from chat.writer import (
    Append,
    Appended,
    Duplicate,
    Place,
    Receipt,
    Refused,
    Target,
    TargetMissed,
    timeline_writer,
)
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

CLIENT_MSG_ID_MAX = 64
SUBJECT_MAX = 200
FIRST_MESSAGE_CLIENT_ID = "room-create"
# A send key without its message: how long a retry waits for a round still on its way
# before it treats the key as left behind by a crash (crash point 1).
SEND_KEY_SETTLE_SECONDS = 0.25


def _clean_text(text: object, *, allow_empty: bool = False, field: str = "text") -> str:
    """Raw text (stored and returned as given) whose trimmed length is 1..max."""
    limit = chat_setting("CHAT_MESSAGE_MAX_CHARS")
    if not isinstance(text, str):
        raise ValidationFailed(details={"fields": {field: ["A string."]}})
    trimmed = len(text.strip())
    if (trimmed == 0 and not allow_empty) or trimmed > limit or len(text) > 2 * limit:
        raise ValidationFailed(
            f"Text must be 1 to {limit} characters.",
            details={"fields": {field: [f"1 to {limit} characters after trimming."]}},
        )
    return text


def _clean_client_msg_id(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > CLIENT_MSG_ID_MAX
        or not value.isprintable()
    ):
        raise ValidationFailed(
            details={"fields": {"client_msg_id": [f"1 to {CLIENT_MSG_ID_MAX} characters."]}}
        )
    return value


def _clean_attachment_ids(values: Iterable[object]) -> list[str]:
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
        raise ValidationFailed(details={"fields": {"attachment_ids": ["A list of ids."]}})
    if len(values) > chat_setting("CHAT_MESSAGE_MAX_ATTACHMENTS"):
        raise ValidationFailed(details={"fields": {"attachment_ids": ["Too many attachments."]}})
    ids: list[str] = []
    for value in values:
        if not isinstance(value, str) or not ObjectId.is_valid(value):
            raise ValidationFailed(details={"fields": {"attachment_ids": ["Unknown attachment."]}})
        if value.lower() not in ids:
            ids.append(value.lower())
    return ids


def _require_participant(room: Room, user: User) -> None:
    if not selectors.is_participant(room, user):
        raise PermissionDenied("Only the room's customer and its agent can post here.")


def _participant_field(user: User) -> str | None:
    """The room field that names ``user`` when they take part: customers by
    ``customer_id``, agents by ``agent_id``; admins see every room and take part in none."""
    return {Role.USER: "customer_id", Role.AGENT: "agent_id"}.get(user.role)


def _not_a_participant(*, room_id: object, user: User) -> PermissionDenied:
    """What an admin (or any non-participant who may see the room) is told; a room the
    caller may not see is a 404 (raised by the lookup)."""
    selectors.room_get_for_user(room_id=room_id, user=user)
    return PermissionDenied("Only the room's customer and its agent can do this here.")


def _refusal(room: dict[str, Any] | None, user: User) -> Exception:
    """Why the writer refused a participant's change, from the room as it read it."""
    field = _participant_field(user)
    if room is None or field is None or room.get(field) != user.pk:
        return NotFound("No such room.")
    if room.get("status") == RoomStatus.CLOSED.value:
        return RoomClosed()
    return Conflict("The room changed meanwhile; try again.")


# --- Rooms ---------------------------------------------------------------------------------


def _route_new_room(room: Room) -> None:
    """Hand a new room to routing (the agents app listens): assigned at once if an
    agent is eligible, otherwise it waits in the queue."""
    signals.room_opened.send(sender=Room, room_id=room.pk)


def _on_room_closed(room: Room) -> None:
    """The room's agent (if any) has a free slot again: routing releases it and
    drains the queue."""
    signals.room_closed.send(sender=Room, room_id=room.pk, agent_id=room.agent_id)


def room_create(
    *, customer: User, subject: str = "", message: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Open a room for a customer: ``(room, True)``; or, while the one-open-room rule
    is on and the customer already has a queued/active room, ``(that room, False)``
    (the ``message`` is then not posted). The unique ``open_key`` index decides races
    between two creates; nothing is checked first."""
    if customer.role != Role.USER:
        raise PermissionDenied("Only customers open support rooms.")
    if not isinstance(subject, str) or len(subject.strip()) > SUBJECT_MAX:
        raise ValidationFailed(details={"fields": {"subject": [f"At most {SUBJECT_MAX}."]}})
    if message is not None and message != "":
        _clean_text(message, field="message")
    one_open = bool(chat_setting("CHAT_ONE_OPEN_ROOM_PER_CUSTOMER"))
    for _attempt in range(3):
        now = timezone.now()
        room = Room(
            customer=customer,
            status=RoomStatus.QUEUED,
            subject=subject.strip(),
            created_at=now,
            queued_at=now,
            open_key=customer.pk if one_open else None,
        )
        try:
            room.save(force_insert=True)
            break
        except IntegrityError:
            existing = Room.objects.filter(open_key=customer.pk).first()  # flat, rare
            if existing is not None:
                return _room_with_position(existing, customer), False
            # closed between our insert and the lookup: try again
    else:
        raise Conflict("Could not open a room; try again.")
    if message:
        message_send(
            room_id=str(room.pk),
            sender=customer,
            client_msg_id=FIRST_MESSAGE_CLIENT_ID,
            text=message,
        )
    _route_new_room(room)
    room = timeline.room_by_id(room.pk)
    return _room_with_position(room, customer), True


def _room_with_position(room: Room, viewer: User) -> dict[str, Any]:
    return {
        **dtos.room_dto_one(room, known=[viewer]),
        "queue_position": selectors.room_queue_position(room),
    }


def room_close(*, room_id: str, actor: User) -> dict[str, Any]:
    """Close a room (its customer, its agent or an admin). History is kept; sends
    after this get ``room_closed``. Closing a closed room returns it unchanged."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    if not (actor.is_admin or selectors.is_participant(room, actor)):
        raise PermissionDenied()
    now = timezone.now()
    closed = copy.copy(room)
    closed.status, closed.closed_at, closed.open_key = RoomStatus.CLOSED, now, None
    room_data = dtos.room_dto_one(closed, known=[actor])

    def publish(event: RoomEvent) -> None:
        room_data["last_seq"] = event.seq
        events.room_closed(room_id=room.pk, seq=event.seq, room=room_data)

    outcome = timeline_writer().submit(
        Append(
            room_id=room.pk,
            event=RoomEvent(
                room_id=room.pk,
                kind=EventKind.CLOSED,
                created_at=now,
                actor=actor,
                data={"closed_by": str(actor.pk)},
            ),
            set_fields={"status": RoomStatus.CLOSED.value, "closed_at": now, "open_key": None},
            known_seq=room.last_seq,
            on_written=publish,
        )
    )
    if not isinstance(outcome, Appended):  # closed meanwhile (or gone)
        return dtos.room_dto_one(selectors.room_get_for_user(room_id=room_id, user=actor))
    _on_room_closed(room)
    return room_data


# --- Messages ------------------------------------------------------------------------------


def message_send(
    *,
    room_id: str,
    sender: User,
    client_msg_id: str,
    text: str,
    attachment_ids: Iterable[str] = (),
    known_seq: int | None = None,
) -> dict[str, Any]:
    """Store a message once per (room, sender, client_msg_id) and return it once the
    write is durable. A retry returns the stored message (same ``seq``); the same id
    with other text or attachments is ``idempotency_conflict``. ``known_seq``: the
    room's seq as the caller last saw it (a socket following the room), which saves
    the writer reading the room."""
    message, _created = message_send_or_replay(
        room_id=room_id,
        sender=sender,
        client_msg_id=client_msg_id,
        text=text,
        attachment_ids=attachment_ids,
        known_seq=known_seq,
    )
    return message


def message_send_or_replay(
    *,
    room_id: str,
    sender: User,
    client_msg_id: str,
    text: str,
    attachment_ids: Iterable[str] = (),
    known_seq: int | None = None,
) -> tuple[dict[str, Any], bool]:
    """:func:`message_send`, telling a new message (True) from a retry (False); REST
    answers 201 or 200.

    Commands: none before the writer's round for a text message (who may post and
    whether the room is open are conditions of the round's compare-and-set); one read
    of the attachments and one update linking them for a message that has some; a
    retry reads the stored message and the room."""
    room_oid = selectors.object_id(room_id)
    client_msg_id = _clean_client_msg_id(client_msg_id)
    attachment_ids = _clean_attachment_ids(attachment_ids)
    text = _clean_text(text, allow_empty=bool(attachment_ids))
    participant = _participant_field(sender)
    if participant is None:
        raise _not_a_participant(room_id=room_id, user=sender)
    key = timeline.idem_key(room_oid, sender.pk, client_msg_id)
    if attachment_ids:
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

        def publish(event: RoomEvent, users=users) -> None:
            base = dtos.message_public(dtos.message_base(event, users), status="sent")
            events.new_message(room_id=room_oid, seq=event.seq, message=base)

        outcome = timeline_writer().submit(
            Append(
                room_id=room_oid,
                event=message,
                require={participant: sender.pk},
                set_once={"first_agent_reply_at": now} if participant == "agent_id" else {},
                idem_key=key,
                known_seq=known_seq,
                on_written=publish,
            )
        )
        if isinstance(outcome, Appended):
            if attachments:
                # By id alone (a flat, indexed filter); they were checked unsent above.
                Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(
                    message=message
                )
            base = dtos.message_base(message, users)
            return {
                **dtos.message_for_viewer(base, room=None, viewer=sender),
                "status": "sent",
            }, True
        if isinstance(outcome, Refused):
            raise _refusal(outcome.room, sender)
        assert isinstance(outcome, Duplicate)
        replayed = _replay_sent(room_oid, sender, key, text=text, attachment_ids=attachment_ids)
        if replayed is not None:
            return replayed, False
    raise Conflict("The message could not be stored; try again.")


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
    return dtos.message_for_viewer(base, room=room, viewer=sender)


def _require_can_modify(message: RoomEvent, actor: User) -> None:
    """Admins at any time; the author within the edit window; nobody else."""
    if actor.is_admin:
        return
    if message.actor_id != actor.pk:
        raise PermissionDenied("Only the author or an admin can change a message.")
    window = timedelta(seconds=chat_setting("CHAT_EDIT_WINDOW_SECONDS"))
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
    text = _clean_text(text, allow_empty=bool(message.attachments))
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


# --- Receipts ------------------------------------------------------------------------------

RECEIPT_KINDS = ("delivered", "read")


def receipt_advance(
    *,
    room_id: str,
    user: User,
    kind: str,
    up_to_seq: int | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One receipt as the contract states it: ``delivered`` or ``read`` up to
    ``up_to_seq`` or to the seq of ``message_id``. Written by
    :func:`receipt_marks_advance`."""
    if kind not in RECEIPT_KINDS:
        raise ValidationFailed(details={"fields": {"kind": [f"One of {RECEIPT_KINDS}."]}})
    if message_id is not None:
        room = selectors.room_get_for_user(room_id=room_id, user=user)
        target = selectors.message_get_in_room(room=room, message_id=message_id).seq
    elif up_to_seq is not None:
        target = selectors.seq_value(up_to_seq, field="up_to_seq")
    else:
        raise ValidationFailed("Give up_to_seq or message_id.")
    return receipt_marks_advance(
        room_id=room_id, user=user, delivered=target, read=target if kind == "read" else None
    )


def receipt_marks_advance(
    *, room_id: str, user: User, delivered: int, read: int | None = None
) -> dict[str, Any]:
    """Raise the user's delivered watermark to ``delivered`` and the read one to ``read``
    (None: not moved; read implies delivered), capped at the room's ``last_seq``. One
    ``$max`` in the writer's round, so a stale or replayed receipt never moves a
    watermark back; receipts are for the room's participants only (admins included:
    they read rooms, they do not take part in them).

    The answer and the event report the watermarks as this process knows them, raised
    by this receipt; clients keep the highest value they have seen."""
    room_oid = selectors.object_id(room_id)
    delivered = selectors.seq_value(delivered, field="up_to_seq")
    if read is not None:
        read = selectors.seq_value(read, field="up_to_seq")
        delivered = max(delivered, read)
    participant = _participant_field(user)
    if participant is None:
        raise _not_a_participant(room_id=room_id, user=user)
    receipt = Receipt(
        room_id=room_oid, user_id=user.pk, participant=participant, delivered=delivered, read=read
    )
    outcome = timeline_writer().submit(receipt)
    if not outcome.matched:
        # Not a participant (any more), or ahead of the room: read it to say which.
        room = selectors.room_get_for_user(room_id=room_id, user=user)
        _require_participant(room, user)
        receipt.delivered = min(delivered, room.last_seq)
        receipt.read = min(read, room.last_seq) if read is not None else None
        outcome = timeline_writer().submit(receipt)
    uid = str(user.pk)
    if outcome.moved:
        events.message_status_updated(
            room_id=room_oid,
            user_id=uid,
            last_delivered_seq=outcome.delivered,
            last_read_seq=outcome.read,
        )
    return {
        "room_id": str(room_oid),
        "user_id": uid,
        "last_delivered_seq": outcome.delivered,
        "last_read_seq": outcome.read,
        "moved": outcome.moved,
    }


# --- Attachments ---------------------------------------------------------------------------


def attachment_upload(*, room_id: str, uploader: User, file) -> dict[str, Any]:
    """Store an uploaded file for a later send. The size cap was enforced while the
    body streamed in (``attachments.CappedUploadHandler``); here the type comes from
    the bytes and the storage name from the server."""
    room = selectors.room_get_for_user(room_id=room_id, user=uploader)
    _require_participant(room, uploader)
    if not room.is_open:
        raise RoomClosed()
    if file is None:
        raise ValidationFailed(details={"fields": {"file": ["A file is required."]}})
    size = int(file.size or 0)
    if size == 0:
        raise ValidationFailed(details={"fields": {"file": ["The file is empty."]}})
    content_type = sniff_file(file)
    filename = safe_filename(getattr(file, "name", ""), content_type)
    storage = storages[chat_setting("CHAT_ATTACHMENT_STORAGE")]
    name = f"chat/{room.pk}/{uuid.uuid4().hex}{EXTENSIONS.get(content_type, '')}"
    stored_name = storage.save(name, file)
    attachment = Attachment.objects.create(
        room=room,
        uploader=uploader,
        storage_name=stored_name,
        filename=filename,
        content_type=content_type,
        size=size,
    )
    return dtos.attachment_dto(attachment)


def attachment_open(*, attachment_id: str, user: User) -> tuple[Attachment, Any]:
    """The attachment and an open file for a download (see the selector's rule)."""
    attachment = selectors.attachment_get_for_user(attachment_id=attachment_id, user=user)
    storage = storages[chat_setting("CHAT_ATTACHMENT_STORAGE")]
    return attachment, storage.open(attachment.storage_name, "rb")


# --- Audit retention -----------------------------------------------------------------------


def message_audit_purge(*, now=None) -> dict[str, int]:
    """Forget what only admins could see once it is older than
    CHAT_AUDIT_RETENTION_DAYS: originals of edited messages, the texts of edit events
    and the texts of deleted messages. Run daily (``manage.py purge_chat_audit``)."""
    cutoff = (now or timezone.now()) - timedelta(days=chat_setting("CHAT_AUDIT_RETENTION_DAYS"))
    # A daily batch: these multi-field filters scan the collection on SecantusDB.
    collection = timeline.events_collection()
    edits = collection.update_many(
        {
            "kind": EventKind.MESSAGE_EDITED.value,
            "created_at": {"$lt": cutoff},
            "text": {"$ne": ""},
        },
        {"$set": {"text": ""}},
    )
    originals = collection.update_many(
        {
            "kind": EventKind.MESSAGE.value,
            "edited_at": {"$lt": cutoff},
            "original_text": {"$ne": None},
        },
        {"$set": {"original_text": None}},
    )
    deleted = collection.update_many(
        {
            "kind": EventKind.MESSAGE.value,
            "deleted": True,
            "deleted_at": {"$lt": cutoff},
            "text": {"$ne": ""},
        },
        {"$set": {"text": "", "original_text": None, "attachments": None}},
    )
    return {
        "edit_texts": edits.modified_count,
        "originals": originals.modified_count,
        "deleted_texts": deleted.modified_count,
    }
