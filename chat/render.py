"""Every server event of the chat, rendered once, for a viewer: live, replayed and paged
alike.

What a viewer may see is decided here and nowhere else. A viewer is one of three
audiences (:class:`Audience`): the room's customer, an agent (only ever the room's own:
agents see no other room) and an admin (every room). Staff-only kinds (private notes,
tags, the rating as an event, SLA flags: ``chat.models.STAFF_KINDS``) render to nothing
for a customer, and staff-only fields (a transfer's note in rows stored before notes
were their own events, a room's tags and SLA flags, the original text of an edited
message or note, the text of a deleted one) are left out of what a customer or agent
receives, on every path:

- live: the fan-out (``chat.publish``) renders each written row once per audience and
  the gateway sends each socket its audience's rendering;
- replay (``join-room`` with a cursor, ``sync``, gap repair, ``GET .../events``):
  ``chat.selectors.replay`` renders the stored rows with the same functions;
- pages (history, search, notes, the rooms): :func:`message`, :func:`note`,
  :func:`room`.

A row renders from itself and a :class:`Scene`: the room, the users the payload names,
the messages and notes in their current state (a replayed ``new-message`` carries the
message as it now is: a client that applies a replay in order ends in the stored state)
and routing's extras for the room. A row's rendering depends on nothing else, so a live
frame and its replay are the same payload when nothing changed in between
(``chat/tests/test_render_live_equals_replay.py`` holds every kind to that).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId

from accounts.models import User
from chat import dtos
from chat.models import STAFF_KINDS, EventKind, Room, RoomEvent

# Server event names of the contract (README, "WebSocket events").
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
ROOM_SLA = "room-sla"
RING_MISSED = "ring-missed"
QUEUE_UPDATED = "queue-updated"
USER_TYPING = "user-typing"
USER_JOINED_ROOM = "user-joined-room"
USER_LEFT_ROOM = "user-left-room"


class Audience(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


AUDIENCES = tuple(Audience)
STAFF = frozenset({Audience.AGENT, Audience.ADMIN})


def audience_of(user: User) -> Audience:
    if user.is_admin:
        return Audience.ADMIN
    if user.is_agent:
        return Audience.AGENT
    return Audience.CUSTOMER


@dataclass
class Scene:
    """What rendering a room's rows needs besides the rows.

    ``room``: the room (live: as the change leaves it; replay: as it now is; None for a
    send, which reads no room: its message is ``sent``). ``users``: by id, whoever the
    payloads name. ``items``: messages and notes in their current state, by id (a row
    of kind ``message`` or ``note`` is its own item unless a newer state is here).
    ``room_extras``: what routing adds to a room's answer (``chat.routing_hooks``)."""

    room: Room | None
    users: dict[str, User] = field(default_factory=dict)
    items: dict[Any, RoomEvent] = field(default_factory=dict)
    room_extras: dict[str, Any] = field(default_factory=dict)


Rendered = tuple[str, dict[str, Any]]


# --- items and rooms as a viewer sees them -------------------------------------------------


def message(base: dict[str, Any], *, room: Room | None, audience: Audience) -> dict[str, Any]:
    """A message (``dtos.message_base``) for ``audience``: admins keep the original text
    of an edited message and the text of a deleted one; ``status`` from the room's
    watermarks when the room is known."""
    data = dict(base)
    original = data.pop("original_text", None)
    if audience is Audience.ADMIN:
        if original is not None:
            data["original_text"] = original
    elif data["deleted"]:
        data["text"] = ""
        data["attachments"] = []
    if room is not None:
        sender_id = data["sender"]["id"] if data["sender"] else None
        data["status"] = dtos.message_status(room, sender_id=sender_id, seq=data["seq"])
    else:
        data["status"] = "sent"
    return data


def note(base: dict[str, Any], *, audience: Audience) -> dict[str, Any] | None:
    """A private note (``dtos.note_base``) for ``audience``; None for a customer."""
    if audience is Audience.CUSTOMER:
        return None
    data = dict(base)
    original = data.pop("original_text", None)
    if audience is Audience.ADMIN:
        if original is not None:
            data["original_text"] = original
    elif data["deleted"]:
        data["text"] = ""
    return data


def room(
    value: Room,
    users: dict[str, User],
    *,
    audience: Audience,
    last_seq: int | None = None,
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A room for ``audience`` (staff add its ``tags``), with routing's ``extras``;
    ``last_seq``: the seq of the event it comes with (the room as that event left it)."""
    data = dtos.room_dto(value, users)
    if last_seq is not None:
        data["last_seq"] = last_seq
    newest = data["last_message"]
    if newest is not None and newest.get("deleted") and audience is not Audience.ADMIN:
        data["last_message"] = {**newest, "text": ""}
    if audience in STAFF:
        data["tags"] = list(value.tags or [])
        data["sla"] = sla_flags(value)
    if extras:
        data.update(extras)
    return data


def sla_flags(value: Room) -> dict[str, str | None]:
    """The room's SLA flags for staff lists (issue 30): per target None, ``"nearing"``
    or ``"breached"``. A breach stays; a target met (the first reply, the close) shows no
    "nearing" any more."""
    first = getattr(value, "sla_first_response", None)
    resolution = getattr(value, "sla_resolution", None)
    if first == "nearing" and value.first_agent_reply_at is not None:
        first = None
    if resolution == "nearing" and value.closed_at is not None:
        resolution = None
    return {"first_response": first, "resolution": resolution}


# What a change of who holds a room (an assignment, a transfer, a move between queues, a
# close) keeps of the room in its row: the fields it sets, so that the row renders the
# room as it left it, live and replayed alike (the rest is the room as it now is).
def room_snapshot(value: Room) -> dict[str, Any]:
    return {
        "status": str(value.status),
        "agent_id": str(value.agent_id) if value.agent_id else None,
        "team_id": str(value.team_id) if value.team_id else None,
        "queued_at": dtos.iso(value.queued_at),
        "assigned_at": dtos.iso(value.assigned_at),
        "closed_at": dtos.iso(value.closed_at),
    }


def room_as_of(row: RoomEvent, value: Room) -> Room:
    """``value`` (the room as it now is) as ``row`` left it, from the row's snapshot
    (rows stored before snapshots: as it now is)."""
    snapshot = (row.data or {}).get("room")
    if not isinstance(snapshot, dict):
        return value
    shown = copy.copy(value)
    shown.status = snapshot.get("status", value.status)
    for name in ("agent_id", "team_id"):
        setattr(shown, name, ObjectId(snapshot[name]) if snapshot.get(name) else None)
    for name in ("queued_at", "assigned_at", "closed_at"):
        stamp = snapshot.get(name)
        setattr(shown, name, datetime.fromisoformat(stamp) if stamp else None)
    return shown


def rooms(
    values: list[Room], *, viewer: User, known: tuple[User, ...] = ()
) -> list[dict[str, Any]]:
    """Rooms for a list (one read of the users they name)."""
    ids = {r.customer_id for r in values} | {r.agent_id for r in values}
    users = dtos.users_by_id(ids, known=[viewer, *known])
    audience = audience_of(viewer)
    return [room(r, users, audience=audience) for r in values]


# --- timeline rows -------------------------------------------------------------------------


def _head(row: RoomEvent) -> dict[str, Any]:
    return {"room_id": str(row.room_id), "seq": row.seq}


def _brief(scene: Scene, user_id: object) -> dict[str, Any] | None:
    return dtos.user_brief(scene.users.get(str(user_id))) if user_id else None


def _item(row: RoomEvent, scene: Scene, item_id: object) -> RoomEvent | None:
    found = scene.items.get(item_id)
    if found is None and row.pk == item_id:
        return row
    return found


def _message_of(row: RoomEvent, scene: Scene, audience: Audience, item_id: object) -> Any:
    item = _item(row, scene, item_id)
    if item is None:
        return None
    return message(dtos.message_base(item, scene.users), room=scene.room, audience=audience)


def _note_of(row: RoomEvent, scene: Scene, audience: Audience, item_id: object) -> Any:
    item = _item(row, scene, item_id)
    if item is None:
        return None
    return note(dtos.note_base(item, scene.users), audience=audience)


def _room_of(row: RoomEvent, scene: Scene, audience: Audience) -> dict[str, Any] | None:
    if scene.room is None:
        return None
    return room(
        scene.room, scene.users, audience=audience, last_seq=row.seq, extras=scene.room_extras
    )


def _new_message(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    shown = _message_of(row, scene, audience, row.pk)
    return (NEW_MESSAGE, {**_head(row), "message": shown}) if shown else None


def _message_edited(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    shown = _message_of(row, scene, audience, row.target_id)
    return (MESSAGE_UPDATED, {**_head(row), "message": shown}) if shown else None


def _message_deleted(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    return MESSAGE_DELETED, {**_head(row), "message_id": str(row.target_id)}


def _assigned(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    data = row.data or {}
    return ROOM_ASSIGNED, {
        **_head(row),
        "agent": data.get("agent"),
        "reason": data.get("reason"),
        "room": _room_of(row, scene, audience),
    }


def _transferred(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    data = row.data or {}
    payload = {
        **_head(row),
        "from_agent": data.get("from_agent"),
        "to_agent": data.get("to_agent"),
        "forced": bool(data.get("forced")),
        "by": data.get("by"),
        "room": _room_of(row, scene, audience),
    }
    if data.get("to_team") is not None:
        payload["to_team"] = data["to_team"]
    # Ring-no-answer (issue 30): why it moved, and the line the customer reads.
    if data.get("reason"):
        payload["reason"] = data["reason"]
        payload["text"] = data.get("text", "")
    # Rows stored before a transfer's note became a private note (issue 16) hold it
    # here: staff may read it, a customer never.
    if audience in STAFF and data.get("note"):
        payload["note"] = data["note"]
    return ROOM_TRANSFERRED, payload


def _closed(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    return ROOM_CLOSED, {**_head(row), "room": _room_of(row, scene, audience)}


# What a system row's data may show: its kind (``overflow``, ``to_team``; none: back to
# the queue) and the teams and agent it names. A ``note`` stored in one (a move to a
# team's queue before issue 26) is staff-only.
_SYSTEM_FIELDS = ("kind", "from_team", "to_team", "from_agent", "reason")


def _system(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    data = row.data or {}
    payload = {**_head(row), "text": row.text}
    payload.update({name: data[name] for name in _SYSTEM_FIELDS if name in data})
    if audience in STAFF and data.get("note"):
        payload["note"] = data["note"]
    payload["room"] = _room_of(row, scene, audience)
    return SYSTEM_MESSAGE, payload


def _note_added(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    shown = _note_of(row, scene, audience, row.pk)
    return (NOTE_ADDED, {**_head(row), "note": shown}) if shown else None


def _note_edited(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    shown = _note_of(row, scene, audience, row.target_id)
    return (NOTE_UPDATED, {**_head(row), "note": shown}) if shown else None


def _note_deleted(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    return NOTE_DELETED, {**_head(row), "note_id": str(row.target_id)}


def _tagged(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    name = ROOM_TAGGED if row.kind == EventKind.TAGGED else ROOM_UNTAGGED
    tag = (row.data or {}).get("tag")
    return name, {**_head(row), "tag": tag, "by": _brief(scene, row.actor_id)}


def _rated(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered:
    data = row.data or {}
    rating = {
        "score": data.get("score"),
        "comment": data.get("comment", ""),
        "rated_at": dtos.iso(row.created_at),
    }
    return ROOM_RATED, {**_head(row), "rating": rating, "customer": _brief(scene, row.actor_id)}


def _sla(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    """Staff only (``STAFF_KINDS``; issue 30): a room nearing or past an SLA target."""
    if audience not in STAFF:
        return None
    data = row.data or {}
    return ROOM_SLA, {
        **_head(row),
        "target": data.get("target"),
        "state": data.get("state"),
        "due_at": data.get("due_at"),
        "team_id": data.get("team_id"),
    }


def _nothing(row: RoomEvent, scene: Scene, audience: Audience) -> None:
    return None


RowRenderer = Callable[[RoomEvent, Scene, Audience], Rendered | None]

# One renderer per kind: a kind missing here fails the live-equals-replay test.
RENDERERS: dict[str, RowRenderer] = {
    EventKind.MESSAGE: _new_message,
    EventKind.MESSAGE_EDITED: _message_edited,
    EventKind.MESSAGE_DELETED: _message_deleted,
    EventKind.ASSIGNED: _assigned,
    EventKind.TRANSFERRED: _transferred,
    EventKind.CLOSED: _closed,
    EventKind.SYSTEM: _system,
    EventKind.NOOP: _nothing,
    EventKind.NOTE: _note_added,
    EventKind.NOTE_EDITED: _note_edited,
    EventKind.NOTE_DELETED: _note_deleted,
    EventKind.TAGGED: _tagged,
    EventKind.UNTAGGED: _tagged,
    EventKind.RATED: _rated,
    EventKind.SLA: _sla,
}


def kinds_shown(audience: Audience) -> frozenset[str]:
    """The kinds of rows ``audience`` may see anything of (replay reads no others)."""
    hidden = STAFF_KINDS if audience is Audience.CUSTOMER else frozenset()
    return frozenset(kind for kind in EventKind if kind != EventKind.NOOP and kind not in hidden)


def event(row: RoomEvent, scene: Scene, audience: Audience) -> Rendered | None:
    """``(event name, data)`` of a timeline row for ``audience``, or None: nothing of it
    is shown (a staff-only kind for a customer, a filler, an edit whose message is not
    in the scene)."""
    if audience is Audience.CUSTOMER and row.kind in STAFF_KINDS:
        return None
    return RENDERERS[row.kind](row, scene, audience)


def item_changed(
    item: RoomEvent, *, seq: int, deleted: bool, scene: Scene, audience: Audience
) -> Rendered | None:
    """The ``*-updated`` / ``*-deleted`` of an item at ``seq`` when the change's own row
    is missing (a hole left by a database crash between the item's update and its
    event: replay rebuilds it from the item's ``text_seq`` / ``deleted_seq``)."""
    is_note = item.kind == EventKind.NOTE
    kind = {
        (False, False): EventKind.MESSAGE_EDITED,
        (False, True): EventKind.MESSAGE_DELETED,
        (True, False): EventKind.NOTE_EDITED,
        (True, True): EventKind.NOTE_DELETED,
    }[(is_note, deleted)]
    change = RoomEvent(room_id=item.room_id, seq=seq, kind=kind, target_id=item.pk)
    return event(change, Scene(scene.room, scene.users, {item.pk: item}), audience)


# --- events that are not timeline rows -----------------------------------------------------


def message_status_updated(
    *, room_id: object, user_id: object, last_delivered_seq: int, last_read_seq: int
) -> Rendered:
    return MESSAGE_STATUS_UPDATED, {
        "room_id": str(room_id),
        "user_id": str(user_id),
        "last_delivered_seq": last_delivered_seq,
        "last_read_seq": last_read_seq,
    }


def queue_updated(
    *,
    room_id: object,
    position: int,
    estimated_wait_seconds: int | None,
    team: dict[str, Any] | None,
) -> Rendered:
    return QUEUE_UPDATED, {
        "room_id": str(room_id),
        "position": position,
        "estimated_wait_seconds": estimated_wait_seconds,
        "team": team,
    }


def user_typing(*, room_id: str, user: User, is_typing: bool, ttl_ms: int) -> Rendered:
    data: dict[str, Any] = {
        "room_id": room_id,
        "user_id": str(user.pk),
        "username": user.username,
        "is_typing": is_typing,
    }
    if is_typing:
        data["ttl_ms"] = ttl_ms
    return USER_TYPING, data


def ring_missed(
    *, room_id: object, misses: int, set_away: bool, to_agent: dict[str, Any] | None
) -> Rendered:
    """To the agent who did not answer a room in time (issue 30): the room went to
    ``to_agent`` (None: back to the queue); ``set_away``: this miss set them away."""
    text = "A chat you did not answer in time was passed on."
    if set_away:
        text += f" You missed {misses} in a row, so your status is now away."
    return RING_MISSED, {
        "room_id": str(room_id),
        "misses": misses,
        "set_away": set_away,
        "to_agent": to_agent,
        "text": text,
    }


def user_joined_room(*, room_id: str, user: User, joined: bool) -> Rendered:
    name = USER_JOINED_ROOM if joined else USER_LEFT_ROOM
    return name, {"room_id": room_id, "user": dtos.user_brief(user)}
