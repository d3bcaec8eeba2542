"""Wire shapes of rooms, messages and attachments (plain dicts, shared by REST, the
gateway and the published events).

These are the same for every viewer: :func:`message_base` is also what the
recent-history cache stores. What a viewer may see of them is decided in one place,
``chat.render``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from accounts.models import User
from chat.models import Attachment, Room, RoomEvent


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-01-02T03:04:05.678Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def users_by_id(ids: Iterable[object], *, known: Iterable[User] = ()) -> dict[str, User]:
    """One query for the users not already in hand. (``select_related`` is avoided on
    purpose: the backend puts its ``$lookup`` before the ``$match``.)"""
    found = {str(user.pk): user for user in known if user is not None}
    missing = {str(i) for i in ids if i is not None} - set(found)
    if missing:
        for user in User.objects.filter(pk__in=[ObjectId(i) for i in missing]):
            found[str(user.pk)] = user
    return found


def user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.name,
        "role": user.role,
    }


def attachment_dto(attachment: Attachment | dict[str, Any]) -> dict[str, Any]:
    if isinstance(attachment, Attachment):
        attachment = {
            "id": str(attachment.pk),
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
        }
    return {**attachment, "url": f"/api/chat/attachments/{attachment['id']}"}


def attachment_snapshot(attachment: Attachment) -> dict[str, Any]:
    """What a message document keeps of each attachment (no query to render it)."""
    return {
        "id": str(attachment.pk),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def rating_dto(room: Room) -> dict[str, Any] | None:
    """The customer's satisfaction rating of a closed room, or None."""
    if room.rated_at is None or room.rating is None:
        return None
    return {"score": room.rating, "comment": room.rating_comment, "rated_at": iso(room.rated_at)}


def room_dto(room: Room, users: dict[str, User]) -> dict[str, Any]:
    """A room as everyone in it may see it (``chat.render.room`` adds what a viewer's
    audience adds: the tags for staff)."""
    return {
        "id": str(room.pk),
        "customer": user_brief(users.get(str(room.customer_id))),
        "agent": user_brief(users.get(str(room.agent_id))) if room.agent_id else None,
        "status": str(room.status),
        "subject": room.subject,
        "created_at": iso(room.created_at),
        "queued_at": iso(room.queued_at),
        "assigned_at": iso(room.assigned_at),
        "first_agent_reply_at": iso(room.first_agent_reply_at),
        "closed_at": iso(room.closed_at),
        "last_seq": room.last_seq,
        "rating": rating_dto(room),
        # Routing's (issue 15): the room's queue (null: the general one) and needs.
        "team_id": str(room.team_id) if room.team_id else None,
        "required_skills": list(room.required_skills or []),
        "last_message": dict(room.last_message) if room.last_message else None,
    }


def rooms_dto(rooms: list[Room], *, known: Iterable[User] = ()) -> list[dict[str, Any]]:
    ids = {room.customer_id for room in rooms} | {room.agent_id for room in rooms}
    users = users_by_id(ids, known=known)
    return [room_dto(room, users) for room in rooms]


def room_dto_one(room: Room, *, known: Iterable[User] = ()) -> dict[str, Any]:
    return rooms_dto([room], known=known)[0]


def message_base(message: RoomEvent, users: dict[str, User]) -> dict[str, Any]:
    """Viewer-independent: the raw text even when deleted, and the original text."""
    return {
        "id": str(message.pk),
        "room_id": str(message.room_id),
        "seq": message.seq,
        "sender": user_brief(users.get(str(message.actor_id))),
        "client_msg_id": message.client_msg_id,
        "text": message.text,
        "original_text": message.original_text,
        "attachments": [attachment_dto(a) for a in (message.attachments or [])],
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted,
    }


def message_summary(message: RoomEvent) -> dict[str, Any]:
    """What a room keeps of its newest message (``Room.last_message``)."""
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "sender_id": str(message.actor_id) if message.actor_id else None,
        "text": message.text,
        "created_at": iso(message.created_at),
        "deleted": bool(message.deleted),
    }


def message_summary_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """:func:`message_summary` of a raw event document (the migration's backfill)."""
    return {
        "id": str(doc["_id"]),
        "seq": doc.get("seq"),
        "sender_id": str(doc["actor_id"]) if doc.get("actor_id") else None,
        "text": doc.get("text") or "",
        "created_at": iso(_aware(doc.get("created_at"))),
        "deleted": bool(doc.get("deleted")),
    }


def _aware(value: datetime | None) -> datetime | None:
    """A raw read's datetime (naive UTC) as an aware one."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def messages_base(messages: list[RoomEvent], *, known: Iterable[User] = ()) -> list[dict[str, Any]]:
    users = users_by_id({m.actor_id for m in messages}, known=known)
    return [message_base(m, users) for m in messages]


def message_status(room: Room, *, sender_id: str | None, seq: int) -> str:
    """``read`` / ``delivered`` / ``sent`` from the watermarks of the other side: for a
    customer's message, support's (any agent who has held the room: the mark a reader
    left stays when the room moves on, so a tick never moves back after a transfer or
    a requeue, issue 31); for anyone else's, the customer's."""
    customer = str(room.customer_id)
    if sender_id == customer:
        readers = [uid for uid in (room.watermarks or {}) if uid != customer]
    else:
        readers = [customer]
    marks = [room.watermark(uid) for uid in readers]
    if any(read >= seq for _, read in marks):
        return "read"
    if any(delivered >= seq for delivered, _ in marks):
        return "delivered"
    return "sent"


def watermarks_dto(room: Room) -> dict[str, dict[str, int]]:
    return {
        uid: dict(zip(("last_delivered_seq", "last_read_seq"), room.watermark(uid), strict=True))
        for uid in (room.watermarks or {})
    }


# --- private notes (staff only: never built for a customer) --------------------------------


def note_base(note: RoomEvent, users: dict[str, User]) -> dict[str, Any]:
    """Viewer-independent, like :func:`message_base`: the raw text even when deleted,
    and the original text. ``transfer``: the agents of the transfer it was written
    with (``{"from_agent", "to_agent"}``), or None."""
    return {
        "id": str(note.pk),
        "room_id": str(note.room_id),
        "seq": note.seq,
        "author": user_brief(users.get(str(note.actor_id))),
        "text": note.text,
        "original_text": note.original_text,
        "transfer": (note.data or {}).get("transfer"),
        "created_at": iso(note.created_at),
        "edited_at": iso(note.edited_at),
        "deleted": note.deleted,
    }


def notes_base(notes: list[RoomEvent], *, known: Iterable[User] = ()) -> list[dict[str, Any]]:
    users = users_by_id({n.actor_id for n in notes}, known=known)
    return [note_base(n, users) for n in notes]
