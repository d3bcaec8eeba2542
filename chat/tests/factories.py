"""Chat test helpers. Tests assign agents directly (routing has its own tests)."""

from __future__ import annotations

import uuid

from django.utils import timezone

from chat import services
from chat.models import Room, RoomStatus


def room_open(customer, *, subject: str = "Help", **where) -> Room:
    room, _created = services.room_create(customer=customer, subject=subject, **where)
    return Room.objects.get(pk=room["id"])


def room_assign(room: Room, agent) -> Room:
    """What routing will do: set the agent and make the room active."""
    Room.objects.filter(pk=room.pk).update(
        agent=agent, status=RoomStatus.ACTIVE, assigned_at=timezone.now()
    )
    return Room.objects.get(pk=room.pk)


def room_with_agent(customer, agent, *, subject: str = "Help") -> Room:
    return room_assign(room_open(customer, subject=subject), agent)


def send(room: Room, sender, text: str = "hello", *, client_msg_id: str | None = None, **kw):
    return services.message_send(
        room_id=str(room.pk),
        sender=sender,
        client_msg_id=client_msg_id or uuid.uuid4().hex,
        text=text,
        **kw,
    )


def seq_taken_without_event(room: Room) -> int:
    """What a database crash between a round's compare-and-set and its event insert
    leaves (``chat.writer``, crash points): the room's next seq taken, nothing at it."""
    from pymongo import ReturnDocument

    from chat.timeline import rooms_collection

    doc = rooms_collection().find_one_and_update(
        {"_id": room.pk}, {"$inc": {"last_seq": 1}}, return_document=ReturnDocument.AFTER
    )
    return int(doc["last_seq"])
