"""Rooms: open one (routed at once by the agents app), close one."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import Role, User
from chat import dtos, events, render, routing_hooks, selectors, signals, timeline
from chat.exceptions import RoomClosed
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat.services import inputs, outcomes
from chat.services.messages import message_send
from chat.writer import Append
from chat_project.errors import Conflict, PermissionDenied, ValidationFailed

SUBJECT_MAX = 200
FIRST_MESSAGE_CLIENT_ID = "room-create"


def _route_new_room(room: Room) -> None:
    """Hand a new room to routing (the agents app listens): assigned at once if an
    agent is eligible, otherwise it waits in the queue."""
    signals.room_opened.send(sender=Room, room_id=room.pk)


def _on_room_closed(room: Room) -> None:
    """The room's agent (if any) has a free slot again: routing releases it and
    drains the queue."""
    signals.room_closed.send(sender=Room, room_id=room.pk, agent_id=room.agent_id)


def room_create(
    *,
    customer: User,
    subject: str = "",
    message: str | None = None,
    team_id: str | None = None,
    topic: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Open a room for a customer: ``(room, True)``; or, while the one-open-room rule
    is on and the customer already has a queued/active room, ``(that room, False)``
    (the ``message`` is then not posted). The unique ``open_key`` index decides races
    between two creates; nothing is checked first.

    ``team_id`` (the customer's choice) or ``topic`` (the widget's) put the room in a
    team's queue with the skills it needs (routing decides: ``chat.routing_hooks``);
    when that team is closed the answer says so (``offline``, ``next_open_at``,
    ``offline_message``) and the room waits for the opening."""
    if customer.role != Role.USER:
        raise PermissionDenied("Only customers open support rooms.")
    if not isinstance(subject, str) or len(subject.strip()) > SUBJECT_MAX:
        raise ValidationFailed(details={"fields": {"subject": [f"At most {SUBJECT_MAX}."]}})
    if message is not None and message != "":
        inputs.clean_text(message, field="message")
    target = routing_hooks.room_target(customer=customer, team_id=team_id, topic=topic)
    one_open = bool(settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER)
    for _attempt in range(3):
        now = timezone.now()
        room = Room(
            customer=customer,
            status=RoomStatus.QUEUED,
            subject=subject.strip(),
            created_at=now,
            queued_at=now,
            open_key=customer.pk if one_open else None,
            team_id=target.team_id,
            required_skills=target.required_skills,
            team_at=now,
            created_offline=target.offline,
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
    return selectors.room_detail(room_id=room.pk, user=viewer, room=room)


def room_scene(room: Room, *, known: Iterable[User] = (), **kwargs: Any) -> render.Scene:
    """What a change to ``room`` renders with: the room as the change leaves it, the
    users it names (one read for those not in hand) and routing's extras."""
    users = dtos.users_by_id({room.customer_id, room.agent_id}, known=known)
    return render.Scene(
        room=room, users=users, room_extras=routing_hooks.room_extras(room), **kwargs
    )


def room_close(*, room_id: str, actor: User) -> dict[str, Any]:
    """Close a room (its customer, its agent or an admin). History is kept; sends
    after this get ``room_closed``. Closing a closed room returns it unchanged."""
    room = selectors.room_get_for_user(room_id=room_id, user=actor)
    if not (actor.is_admin or selectors.is_participant(room, actor)):
        raise PermissionDenied()
    now = timezone.now()
    closed = copy.copy(room)
    closed.status, closed.closed_at, closed.open_key = RoomStatus.CLOSED, now, None
    scene = room_scene(closed, known=[actor])
    op = Append(
        room_id=room.pk,
        event=RoomEvent(
            room_id=room.pk,
            kind=EventKind.CLOSED,
            created_at=now,
            actor=actor,
            data={"closed_by": str(actor.pk), "room": render.room_snapshot(closed)},
        ),
        set_fields={"status": RoomStatus.CLOSED.value, "closed_at": now, "open_key": None},
        known_seq=room.last_seq,
        notice=events.Notice(scene=scene),
    )
    try:
        row = outcomes.written(op)
    except RoomClosed:  # closed meanwhile: answer the room as it is
        return selectors.room_detail(room_id=room_id, user=actor)
    _on_room_closed(room)
    return render.room(
        closed,
        scene.users,
        audience=render.audience_of(actor),
        last_seq=row.seq,
        extras=scene.room_extras,
    )


def room_skills_update(*, room_id: object, required_skills: list[dict[str, Any]]) -> Room | None:
    """Set the skills an open room needs (routing validates and authorises: issue 15);
    the room as it now is, or None if it is closed or gone. Not a timeline change (no
    seq, nothing for the room's sockets): one conditional update of the room's own
    field, never a ``save()`` (which would write back a stale seq)."""
    oid = selectors.object_id(room_id)
    result = timeline.rooms_collection().update_one(
        {"_id": oid, "status": {"$ne": RoomStatus.CLOSED.value}},
        {"$set": {"required_skills": required_skills}},
    )
    if result.matched_count == 0:
        return None
    return timeline.room_by_id(oid)
