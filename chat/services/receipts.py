"""Receipts: a participant's delivered and read watermarks, moved forward only."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat import events, render, selectors
from chat.services import participants
from chat.writer import Receipt, steps
from chat_project.errors import ValidationFailed

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


def receipt_marks_advance(**kwargs: Any) -> dict[str, Any]:
    """:func:`receipt_marks_steps` on this thread."""
    return steps.run(receipt_marks_steps(**kwargs))


def receipt_marks_steps(
    *, room_id: str, user: User, delivered: int, read: int | None = None
) -> steps.Steps[dict[str, Any]]:
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
    participant = participants.participant_field(user)
    if participant is None:
        yield steps.IN_THREAD
        raise participants.not_a_participant(room_id=room_id, user=user)
    receipt = Receipt(
        room_id=room_oid, user_id=user.pk, participant=participant, delivered=delivered, read=read
    )
    outcome = yield receipt
    if not outcome.matched:
        # Not a participant (any more), or ahead of the room: read it to say which.
        yield steps.IN_THREAD
        room = selectors.room_get_for_user(room_id=room_id, user=user)
        participants.require_participant(room, user)
        receipt.delivered = min(delivered, room.last_seq)
        receipt.read = min(read, room.last_seq) if read is not None else None
        outcome = yield receipt
    uid = str(user.pk)
    if outcome.moved:
        status = render.message_status_updated(
            room_id=room_oid,
            user_id=uid,
            last_delivered_seq=outcome.delivered,
            last_read_seq=outcome.read,
        )
        events.room_rendered(room_oid, status)
    return {
        "room_id": str(room_oid),
        "user_id": uid,
        "last_delivered_seq": outcome.delivered,
        "last_read_seq": outcome.read,
        "moved": outcome.moved,
    }
