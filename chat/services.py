"""Chat writes: rooms, messages, edits, deletes, receipts, attachments.

How a room's history stays consistent without transactions
-----------------------------------------------------------
Every timeline change first takes the room's next ``seq`` with ONE atomic
single-document update of the room (``timeline.reserve_seq``: ``last_seq`` n -> n+1
unless the room is closed, a compare-and-set ``update_one`` standing in for
``find_one_and_update`` + ``$inc``, which the embedded server runs as a collection
scan; see ``chat.timeline``), then inserts one ``RoomEvent`` with it; the unique
(room, seq) index makes a seq impossible to use twice. A send is exactly these two
writes (plus a retry of the first when another writer of the same room got in
between). Events are published only after the insert.

Crash points (process dies between two writes) and why each is safe:

1. Send, after taking the seq, before the insert: the seq is a hole. Nothing refers
   to it; replay skips it and reports the room's ``last_seq`` so cursors move past
   it; the client got no ack and retries with the same ``client_msg_id``, which
   stores the message under a new seq.
2. Send, after the insert, before linking attachments (a third write, only for
   messages with attachments): the message carries its attachment snapshot and
   downloads are authorised by room, so nothing is lost; the file only stays
   "unsent" for the link check.
3. Idempotent-send race: two requests with one ``client_msg_id`` both take a seq;
   the unique ``idem_key`` ("<room>:<sender>:<client_msg_id>", messages only) lets
   one insert win; the loser re-reads the winner's message and fills its own seq
   with a ``noop`` event so the seq stays gap-free. A crash before the filler
   leaves a hole as in 1.
4. Edit: the seq, then a conditional single-document update of the message (current
   text and ``text_seq``, unless deleted or a later edit won), then the
   ``message_edited`` event. A crash after the seq is a hole (1). A crash after the
   message update leaves the new text stored and a hole at its seq: replay finds
   the message by ``text_seq`` and emits the ``message-updated`` it would have had
   (``selectors.room_events_after``).
5. Delete: the same with the tombstone and ``deleted_seq``.
6. Close: one update sets ``status=closed``, clears ``open_key`` and takes the seq;
   a crash before the ``closed`` event leaves a hole; the room is closed all the same.
7. Create: one insert guarded by the unique ``open_key`` index; the optional first
   message is a normal send afterwards (crash: an open room without it, the client
   sends it again).
8. Receipts: one ``$max`` update; nothing to pair.

Redis (cache, channel layer) is written only after MongoDB, and only as an
optimisation: a lost publish is caught up by replay, a cached page is keyed by
``last_seq`` so it can never shadow a newer write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId
from django.core.files.storage import storages
from django.db import IntegrityError
from django.utils import timezone
from pymongo.errors import DuplicateKeyError

from accounts.models import Role, User
from chat import dtos, events, selectors, signals, timeline
from chat.attachments import EXTENSIONS, safe_filename, sniff_file
from chat.conf import chat_setting
from chat.exceptions import IdempotencyConflict, RoomClosed
from chat.models import Attachment, EventKind, Room, RoomEvent, RoomStatus
from chat_project.errors import Conflict, PermissionDenied, ValidationFailed

CLIENT_MSG_ID_MAX = 64
SUBJECT_MAX = 200
FIRST_MESSAGE_CLIENT_ID = "room-create"


def _reserve_seq(
    room_id: ObjectId, *, last_seq: int | None = None, also_set: dict[str, Any] | None = None
) -> int:
    """The room's next seq (the only place a seq comes from); refused once closed."""
    seq = timeline.reserve_seq(room_id, last_seq=last_seq, also_set=also_set)
    if seq is None:
        raise RoomClosed()
    return seq


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
    seq = timeline.close_room(room.pk, now=now, last_seq=room.last_seq)
    if seq is None:
        return dtos.room_dto_one(timeline.room_by_id(room.pk), known=[actor])
    RoomEvent.objects.create(
        room_id=room.pk,
        seq=seq,
        kind=EventKind.CLOSED,
        actor=actor,
        data={"closed_by": str(actor.pk)},
    )
    room.status, room.closed_at, room.open_key, room.last_seq = (
        RoomStatus.CLOSED,
        now,
        None,
        seq,
    )
    room_data = dtos.room_dto_one(room, known=[actor])
    _on_room_closed(room)
    events.room_closed(room_id=room.pk, seq=seq, room=room_data)
    return room_data


def room_event_append(
    *,
    room_id: object,
    kind: str,
    actor: User | None = None,
    text: str = "",
    data: dict[str, Any] | None = None,
    also_set: dict[str, Any] | None = None,
) -> RoomEvent:
    """Append an ``assigned`` / ``transferred`` / ``system`` event (for routing and
    transfers). ``also_set`` are room fields changed atomically with the seq (raw
    MongoDB field names, e.g. ``{"agent_id": oid, "status": "active"}``). The caller
    publishes (``events.room_event``) after this returns."""
    if kind not in (EventKind.ASSIGNED, EventKind.TRANSFERRED, EventKind.SYSTEM):
        raise ValueError(f"room_event_append does not write {kind!r} events")
    oid = selectors.object_id(room_id)
    seq = _reserve_seq(oid, also_set=also_set)
    return RoomEvent.objects.create(
        room_id=oid, seq=seq, kind=kind, actor=actor, text=text, data=data or {}
    )


# --- Messages ------------------------------------------------------------------------------


def _find_sent(room_id: ObjectId, sender: User, client_msg_id: str) -> RoomEvent | None:
    return timeline.message_by_idem_key(timeline.idem_key(room_id, sender.pk, client_msg_id))


def _replayed(
    message: RoomEvent, *, room: Room, sender: User, text: str, attachment_ids: list[str]
) -> dict[str, Any]:
    """The stored answer to a retried send, or ``idempotency_conflict`` if the retry
    is not the same message."""
    stored_ids = sorted(a["id"] for a in (message.attachments or []))
    original = message.original_text
    stored_text = original if original is not None else message.text
    if stored_text != text or stored_ids != sorted(attachment_ids):
        raise IdempotencyConflict(details={"message_id": str(message.pk), "seq": message.seq})
    base = dtos.message_base(message, {str(sender.pk): sender})
    return dtos.message_for_viewer(base, room=room, viewer=sender)


def message_send(
    *,
    room_id: str,
    sender: User,
    client_msg_id: str,
    text: str,
    attachment_ids: Iterable[str] = (),
    hint: SendHint | None = None,
) -> dict[str, Any]:
    """Store a message once per (room, sender, client_msg_id) and return it after the
    write is durable. A retry returns the stored message (same ``seq``); the same id
    with other text or attachments is ``idempotency_conflict``.

    Commands: with a :class:`SendHint` that is still true (a socket that follows the
    room), two: the seq compare-and-set (which also checks that the sender takes part
    and the room is open) and the insert. Otherwise, or when the hint turns out stale,
    the room is read first and the stored message looked up (a retry), then the same
    two writes (plus one to link attachments)."""
    message, _created = message_send_or_replay(
        room_id=room_id,
        sender=sender,
        client_msg_id=client_msg_id,
        text=text,
        attachment_ids=attachment_ids,
        hint=hint,
    )
    return message


HINTED_SEND_ATTEMPTS = 3  # then the reading path (a room this busy is rare)


@dataclass(frozen=True)
class SendHint:
    """What a socket that follows a room already knows, so a send can skip reading it:
    ``last_seq``, the highest seq it has seen (usually the room's), and
    ``agent_replied``, that the room's first agent reply is on record (if not, an
    agent's send records it in the same update while it is still unrecorded)."""

    last_seq: int
    agent_replied: bool = False


def _participant_field(user: User) -> str | None:
    """The room field naming ``user`` when they take part: customers by
    ``customer_id``, agents by ``agent_id``; admins never post."""
    return {Role.USER: "customer_id", Role.AGENT: "agent_id"}.get(user.role)


def _message_send_on_hint(
    *, room_oid: ObjectId, sender: User, client_msg_id: str, text: str, hint: SendHint
) -> dict[str, Any] | None:
    """The two-command send (see :func:`message_send`), or None when the hint does not
    hold (stale seq, closed room, access gone, a retried ``client_msg_id``): the caller
    then takes the reading path, which tells these apart. A retry detected here has
    consumed a seq: it gets a ``noop`` filler like crash point 3 (the gateway sends the
    ids a socket already used through the reading path, so only a retry from another
    connection gets here)."""
    field = _participant_field(sender)
    if field is None:
        return None
    now = timezone.now()
    last_seq, replied = hint.last_seq, hint.agent_replied or field != "agent_id"
    for _attempt in range(HINTED_SEND_ATTEMPTS):
        # An agent's first reply is recorded in the same update, only while unrecorded.
        require: dict[str, Any] = {field: sender.pk}
        also_set: dict[str, Any] = {}
        if not replied:
            require["first_agent_reply_at"] = None
            also_set["first_agent_reply_at"] = now
        seq = timeline.take_seq_once(
            room_oid, last_seq=last_seq, require=require, also_set=also_set
        )
        if seq is not None:
            break
        # A stale guess (usually the peer's message not yet seen): one raw read of the
        # room's state, then again, unless the room is closed or no longer the sender's.
        state = timeline.room_send_state(room_oid)
        if state is None or state["closed"] or state[field] != sender.pk:
            return None
        last_seq, replied = state["last_seq"], state["agent_replied"] or field != "agent_id"
    else:
        return None
    message = RoomEvent(
        room_id=room_oid,
        seq=seq,
        kind=EventKind.MESSAGE,
        created_at=now,
        actor=sender,
        client_msg_id=client_msg_id,
        idem_key=timeline.idem_key(room_oid, sender.pk, client_msg_id),
        text=text,
    )
    try:
        timeline.insert_event(message)
    except DuplicateKeyError:
        timeline.fill_noop(room_oid, seq)
        return None
    base = dtos.message_base(message, {str(sender.pk): sender})
    events.new_message(room_id=room_oid, seq=seq, message=dtos.message_public(base, status="sent"))
    # Nobody else can have reached a seq taken just now: the sender sees it as "sent".
    return {**dtos.message_for_viewer(base, room=None, viewer=sender), "status": "sent"}


def message_send_or_replay(
    *,
    room_id: str,
    sender: User,
    client_msg_id: str,
    text: str,
    attachment_ids: Iterable[str] = (),
    hint: SendHint | None = None,
) -> tuple[dict[str, Any], bool]:
    """:func:`message_send`, also telling whether this call stored the message (REST
    answers 201 for a new message, 200 for a replayed retry)."""
    if hint is not None and not attachment_ids:
        clean_id = _clean_client_msg_id(client_msg_id)
        sent = _message_send_on_hint(
            room_oid=selectors.object_id(room_id),
            sender=sender,
            client_msg_id=clean_id,
            text=_clean_text(text),
            hint=hint,
        )
        if sent is not None:
            return sent, True
    room = selectors.room_get_for_user(room_id=room_id, user=sender)
    _require_participant(room, sender)
    client_msg_id = _clean_client_msg_id(client_msg_id)
    attachment_ids = _clean_attachment_ids(attachment_ids)
    text = _clean_text(text, allow_empty=bool(attachment_ids))
    existing = _find_sent(room.pk, sender, client_msg_id)
    if existing is not None:
        replayed = _replayed(
            existing, room=room, sender=sender, text=text, attachment_ids=attachment_ids
        )
        return replayed, False
    if not room.is_open:
        raise RoomClosed()
    attachments: list[Attachment] = []
    if attachment_ids:
        found = {
            str(a.pk): a
            for a in Attachment.objects.filter(pk__in=[ObjectId(i) for i in attachment_ids])
            if a.room_id == room.pk and a.uploader_id == sender.pk and a.message_id is None
        }
        if len(found) != len(attachment_ids):
            raise ValidationFailed(details={"fields": {"attachment_ids": ["Unknown attachment."]}})
        attachments = [found[i] for i in attachment_ids]
    now = timezone.now()
    first_reply = sender.pk == room.agent_id and room.first_agent_reply_at is None
    seq = _reserve_seq(
        room.pk,
        last_seq=room.last_seq,
        also_set={"first_agent_reply_at": now} if first_reply else None,
    )
    message = RoomEvent(
        room_id=room.pk,
        seq=seq,
        kind=EventKind.MESSAGE,
        created_at=now,
        actor=sender,
        client_msg_id=client_msg_id,
        idem_key=timeline.idem_key(room.pk, sender.pk, client_msg_id),
        text=text,
        attachments=[dtos.attachment_snapshot(a) for a in attachments] or None,
    )
    try:
        message.save(force_insert=True)
    except IntegrityError:
        # Lost an idempotency race (crash point 3): answer with the winner's message.
        timeline.fill_noop(room.pk, seq)
        winner = _find_sent(room.pk, sender, client_msg_id)
        if winner is None:
            raise
        replayed = _replayed(
            winner, room=room, sender=sender, text=text, attachment_ids=attachment_ids
        )
        return replayed, False
    if attachments:
        # By id alone (a flat, indexed filter); they were checked unsent above.
        Attachment.objects.filter(pk__in=[a.pk for a in attachments]).update(message=message)
    base = dtos.message_base(message, {str(sender.pk): sender})
    events.new_message(room_id=room.pk, seq=seq, message=dtos.message_public(base, status="sent"))
    return dtos.message_for_viewer(base, room=room, viewer=sender), True


def _require_can_modify(message: RoomEvent, actor: User) -> None:
    """Admins at any time; the author within the edit window; nobody else."""
    if actor.is_admin:
        return
    if message.actor_id != actor.pk:
        raise PermissionDenied("Only the author or an admin can change a message.")
    window = timedelta(seconds=chat_setting("CHAT_EDIT_WINDOW_SECONDS"))
    if timezone.now() - message.created_at > window:
        raise PermissionDenied("The edit window for this message has passed.")


def message_edit(*, room_id: str, message_id: str, actor: User, text: str) -> dict[str, Any]:
    """Replace a message's text. Returns ``{"room_id", "seq", "message"}``: the seq of
    the ``message_edited`` event and the message's current state.

    Concurrent edits of one message: each takes a seq; the message keeps the text of
    the highest seq whatever order they land in (the update is conditional on
    ``text_seq``); every edit's text is kept in its event for admins
    (``selectors.message_audit``)."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    message = selectors.message_get_in_room(room=room, message_id=message_id)
    _require_can_modify(message, actor)
    text = _clean_text(text, allow_empty=bool(message.attachments))
    if message.deleted:
        raise Conflict("The message was deleted.")
    if not room.is_open:
        raise RoomClosed()
    now = timezone.now()
    seq = _reserve_seq(room.pk, last_seq=room.last_seq)
    outcome, current = timeline.apply_edit(message, seq=seq, text=text, now=now)
    if outcome == "deleted":
        timeline.fill_noop(room.pk, seq)
        raise Conflict("The message was deleted.")
    # "superseded": a later edit already won; ours is kept in its event for admins.
    RoomEvent.objects.create(
        room_id=room.pk,
        seq=seq,
        kind=EventKind.MESSAGE_EDITED,
        created_at=now,
        actor=actor,
        target_id=message.pk,
        text=text,
    )
    base = dtos.messages_base([current], known=[actor])[0]
    events.message_updated(room_id=room.pk, seq=seq, message=dtos.message_public(base))
    return {
        "room_id": str(room.pk),
        "seq": seq,
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
    seq = _reserve_seq(room.pk, last_seq=room.last_seq)
    if not timeline.apply_delete(message.pk, seq=seq, now=now):  # a concurrent delete won
        timeline.fill_noop(room.pk, seq)
        return {**answer, "seq": timeline.event_by_id(message.pk).deleted_seq}
    RoomEvent.objects.create(
        room_id=room.pk,
        seq=seq,
        kind=EventKind.MESSAGE_DELETED,
        created_at=now,
        actor=actor,
        target_id=message.pk,
    )
    events.message_deleted(room_id=room.pk, seq=seq, message_id=message.pk)
    return {**answer, "seq": seq}


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
    """Move the user's delivered (or read, which implies delivered) watermark forward
    to ``up_to_seq`` or to the seq of ``message_id``; capped at the room's
    ``last_seq``. One ``$max`` update on the room document, so a stale or replayed
    receipt never moves a watermark back (and costs no write at all). A socket in the
    room uses :func:`receipt_marks_advance` instead, which skips reading the room."""
    if kind not in RECEIPT_KINDS:
        raise ValidationFailed(details={"fields": {"kind": [f"One of {RECEIPT_KINDS}."]}})
    room = selectors.room_get_for_user(room_id=room_id, user=user)
    if message_id is not None:
        target = selectors.message_get_in_room(room=room, message_id=message_id).seq
    elif up_to_seq is not None:
        target = selectors.seq_value(up_to_seq, field="up_to_seq")
    else:
        raise ValidationFailed("Give up_to_seq or message_id.")
    target = min(target, room.last_seq)
    delivered, read = room.watermark(user.pk)
    uid = str(user.pk)
    answer = {"room_id": str(room.pk), "user_id": uid}
    wants_read = kind == "read" and target > read
    if target <= delivered and not wants_read:
        return {**answer, "last_delivered_seq": delivered, "last_read_seq": read, "moved": False}
    new_delivered, new_read = max(delivered, target), read
    if kind == "read":
        new_read = max(read, target)
    # One $max update: it only ever raises a watermark, so a concurrent receipt with
    # a higher seq is never undone. The reply reports this receipt's own effect.
    moved = timeline.advance_watermarks(
        room.pk, uid, delivered=target, read=target if kind == "read" else None
    )
    if moved:
        events.message_status_updated(
            room_id=room.pk,
            user_id=uid,
            last_delivered_seq=new_delivered,
            last_read_seq=new_read,
        )
    return {
        **answer,
        "last_delivered_seq": new_delivered,
        "last_read_seq": new_read,
        "moved": moved,
    }


def receipt_marks_advance(
    *, room_id: str, user: User, delivered: int, read: int | None, known: tuple[int, int]
) -> dict[str, Any]:
    """Several receipts of one socket and room in one go (the gateway coalesces them):
    raise the user's delivered watermark to ``delivered`` and the read one to ``read``
    (None: not moved; read implies delivered), as :func:`receipt_advance` would for
    each. One command when ``known`` holds; otherwise through the reading path."""
    room_oid = selectors.object_id(room_id)
    delivered = selectors.seq_value(delivered, field="up_to_seq")
    if read is not None:
        read = selectors.seq_value(read, field="up_to_seq")
        delivered = max(delivered, read)
    answer = _receipt_on_known(
        room_oid=room_oid, user=user, delivered=delivered, read=read, known=known
    )
    if answer is not None:
        return answer
    if read is not None:
        answer = receipt_advance(room_id=room_id, user=user, kind="read", up_to_seq=read)
    if read is None or delivered > read:
        answer = receipt_advance(room_id=room_id, user=user, kind="delivered", up_to_seq=delivered)
    return answer


def _receipt_on_known(
    *, room_oid: ObjectId, user: User, delivered: int, read: int | None, known: tuple[int, int]
) -> dict[str, Any] | None:
    """Raise the watermarks to ``delivered`` / ``read`` (``read <= delivered``) in at
    most one command, or None when the update did not match (not a participant any
    more, or ``delivered`` beyond the room's ``last_seq``): the caller then reads the
    room. The answer and the event report the watermarks as this socket knows them,
    raised by these receipts; another socket of the same user may have raised them
    further, and clients keep the highest value they have seen."""
    field = _participant_field(user)
    if field is None:
        return None
    old_delivered, old_read = known
    uid = str(user.pk)
    answer = {"room_id": str(room_oid), "user_id": uid}
    wants_read = read is not None and read > old_read
    if delivered <= old_delivered and not wants_read:
        marks = {"last_delivered_seq": old_delivered, "last_read_seq": old_read}
        return {**answer, **marks, "moved": False}
    matched, moved = timeline.advance_watermarks_if(
        room_oid, uid, require={field: user.pk}, delivered=delivered, read=read
    )
    if not matched:
        return None
    new_delivered = max(old_delivered, delivered)
    new_read = max(old_read, read) if read is not None else old_read
    if moved:
        events.message_status_updated(
            room_id=room_oid,
            user_id=uid,
            last_delivered_seq=new_delivered,
            last_read_seq=new_read,
        )
    marks = {"last_delivered_seq": new_delivered, "last_read_seq": new_read}
    return {**answer, **marks, "moved": moved}


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
