"""What the chat services tell connected sockets, after the durable write.

Every message goes to the group ``room.<room_id>`` (the gateway subscribes each
socket to the rooms it may see) in one of two shapes:

``{"type": "room.event", "room_id", "seq", "event", "data"}``
    ``event`` is the server event name of the contract; ``data`` always carries
    ``room_id`` and, for history-changing events, ``seq`` (``seq`` is None for
    receipts, which are not timeline events).

    ``audience``: ``"staff"`` on events a customer must never receive (private notes,
    tags, the rating as an event): the gateway sends them to agents' and admins'
    sockets only (the group holds the customer's sockets too), and lets a customer's
    socket step over their seq without a gap repair. Absent: everyone in the room.

``{"type": "room.access", "room_id", "revoked_user_ids"}``
    those users lost access to the room (transfer): the gateway drops their sockets
    from the group.

Publishing only wakes clients up; the store is the record, and a client that missed
a message catches up by replaying after its last ``seq``. Failures are logged, not
raised: the write already happened.
"""

from __future__ import annotations

from typing import Any

from accounts.events import user_group
from chat_project import fanout

NEW_MESSAGE = "new-message"
MESSAGE_UPDATED = "message-updated"
MESSAGE_DELETED = "message-deleted"
MESSAGE_STATUS_UPDATED = "message-status-updated"
ROOM_CLOSED = "room-closed"
ROOM_ASSIGNED = "room-assigned"
ROOM_TRANSFERRED = "room-transferred"
SYSTEM_MESSAGE = "system-message"
NOTE_ADDED = "note-added"
NOTE_UPDATED = "note-updated"
NOTE_DELETED = "note-deleted"
ROOM_TAGGED = "room-tagged"
ROOM_UNTAGGED = "room-untagged"
ROOM_RATED = "room-rated"

# The audience of a room event no customer may receive (chat.consumers.room_event).
STAFF = "staff"


def room_group(room_id: object) -> str:
    return f"room.{room_id}"


def publish(group: str, message: dict[str, Any]) -> None:
    fanout.publish(group, message)


def room_event(
    *,
    room_id: object,
    seq: int | None,
    event: str,
    data: dict[str, Any],
    audience: str | None = None,
) -> None:
    message = {
        "type": "room.event",
        "room_id": str(room_id),
        "seq": seq,
        "event": event,
        "data": data,
    }
    if audience is not None:
        message["audience"] = audience
    publish(room_group(room_id), message)


def room_access_revoked(*, room_id: object, user_ids: list[object]) -> None:
    publish(
        room_group(room_id),
        {
            "type": "room.access",
            "room_id": str(room_id),
            "revoked_user_ids": [str(uid) for uid in user_ids],
        },
    )


def new_message(*, room_id: object, seq: int, message: dict[str, Any]) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=NEW_MESSAGE,
        data={"room_id": str(room_id), "seq": seq, "message": message},
    )


def message_updated(*, room_id: object, seq: int, message: dict[str, Any]) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=MESSAGE_UPDATED,
        data={"room_id": str(room_id), "seq": seq, "message": message},
    )


def message_deleted(*, room_id: object, seq: int, message_id: object) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=MESSAGE_DELETED,
        data={"room_id": str(room_id), "seq": seq, "message_id": str(message_id)},
    )


def message_status_updated(
    *, room_id: object, user_id: object, last_delivered_seq: int, last_read_seq: int
) -> None:
    room_event(
        room_id=room_id,
        seq=None,
        event=MESSAGE_STATUS_UPDATED,
        data={
            "room_id": str(room_id),
            "user_id": str(user_id),
            "last_delivered_seq": last_delivered_seq,
            "last_read_seq": last_read_seq,
        },
    )


def room_closed(*, room_id: object, seq: int, room: dict[str, Any]) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=ROOM_CLOSED,
        data={"room_id": str(room_id), "seq": seq, "room": room},
    )


def note_added(*, room_id: object, seq: int, note: dict[str, Any]) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=NOTE_ADDED,
        data={"room_id": str(room_id), "seq": seq, "note": note},
        audience=STAFF,
    )


def note_updated(*, room_id: object, seq: int, note: dict[str, Any]) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=NOTE_UPDATED,
        data={"room_id": str(room_id), "seq": seq, "note": note},
        audience=STAFF,
    )


def note_deleted(*, room_id: object, seq: int, note_id: object) -> None:
    room_event(
        room_id=room_id,
        seq=seq,
        event=NOTE_DELETED,
        data={"room_id": str(room_id), "seq": seq, "note_id": str(note_id)},
        audience=STAFF,
    )


def room_tags_changed(
    *, room_id: object, seq: int, added: bool, tag: str, by: dict[str, Any] | None
) -> None:
    """``room-tagged`` / ``room-untagged``."""
    room_event(
        room_id=room_id,
        seq=seq,
        event=ROOM_TAGGED if added else ROOM_UNTAGGED,
        data={"room_id": str(room_id), "seq": seq, "tag": tag, "by": by},
        audience=STAFF,
    )


def room_rated(
    *,
    room_id: object,
    seq: int,
    rating: dict[str, Any],
    customer: dict[str, Any] | None,
    agent_id: object | None,
) -> None:
    """To the room's staff, and to every socket of its agent (who has usually left the
    closed room by then)."""
    data = {"room_id": str(room_id), "seq": seq, "rating": rating, "customer": customer}
    room_event(room_id=room_id, seq=seq, event=ROOM_RATED, data=data, audience=STAFF)
    if agent_id is not None:
        user_event(user_id=agent_id, event=ROOM_RATED, data=data)


def user_event(*, user_id: object, event: str, data: dict[str, Any]) -> None:
    """A server event for every socket of one user (group ``user.<id>``): how an agent
    hears of a room it was given before it joined it."""
    publish(user_group(user_id), {"type": "user.event", "event": event, "data": data})
