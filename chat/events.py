"""What the chat tells connected sockets, after the durable write: the channel-layer
messages, built from what ``chat.render`` renders (never from a payload of their own).

Every message for a room goes to the group ``room.<room_id>`` (the gateway subscribes
each socket to the rooms it may see), in one of two shapes:

``{"type": "room.event", "room_id", "seq", "event", "data", "audiences"?, "by_audience"?}``
    one server event, rendered once per audience (``chat.render.Audience``): ``data``
    is what every audience receives unless ``by_audience`` names its own rendering;
    ``audiences``, when present, lists the only audiences that receive it (a private
    note: staff). A socket of another audience steps over its seq (no gap repair goes
    looking for it). ``seq`` is None for events that are not history (receipts,
    typing); ``exclude_user_id`` then names the user whose own action it was.

``{"type": "room.access", "room_id", "revoked_user_ids"}``
    those users lost access to the room (transfer): the gateway drops their sockets
    from the group.

and ``{"type": "user.event", "event", "data"}`` to the group ``user.<id>`` (every socket
of one user), rendered for that user's audience.

Timeline rows are published by the writer once their round is durable
(:func:`rows_written`, in seq order per room), from the :class:`Notice` each change
carries: data only (the scene to render with, who else to tell), so that nothing of a
service runs on the writer's thread. Publishing only wakes clients up; the store is the
record, and a client that missed a message catches up by replaying after its last
``seq``. Failures are logged, not raised: the write already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.events import user_group
from chat import render
from chat.models import RoomEvent
from chat.render import AUDIENCES, Audience, Rendered, Scene
from chat_project import fanout

logger = logging.getLogger(__name__)


def room_group(room_id: object) -> str:
    return f"room.{room_id}"


def publish(group: str, message: dict[str, Any]) -> None:
    fanout.publish(group, message)


@dataclass(frozen=True)
class Notice:
    """What a timeline change tells once it is durable: its row rendered with
    ``scene`` to the room's sockets; to every socket of ``tell_users`` too (``(user
    id, audience)``: how an agent hears of a room it was given before joining it); then
    ``revoke``: users who no longer see the room."""

    scene: Scene
    tell_users: tuple[tuple[object, Audience], ...] = ()
    revoke: tuple[object, ...] = ()


def room_message(
    *, room_id: object, seq: int | None, renderings: dict[Audience, Rendered | None]
) -> dict[str, Any] | None:
    """The ``room.event`` of one event rendered per audience (None: nobody sees it)."""
    shown = {audience: r for audience, r in renderings.items() if r is not None}
    if not shown:
        return None
    name, data = next(iter(shown.values()))
    message: dict[str, Any] = {
        "type": "room.event",
        "room_id": str(room_id),
        "seq": seq,
        "event": name,
        "data": data,
    }
    if len(shown) < len(AUDIENCES):
        message["audiences"] = sorted(str(a) for a in shown)
    differing = {str(audience): d for audience, (_n, d) in shown.items() if d != data}
    if differing:
        message["by_audience"] = differing
    return message


def room_event_for(message: dict[str, Any], audience: Audience) -> dict[str, Any] | None:
    """A ``room.event``'s data for one audience; None: not theirs."""
    audiences = message.get("audiences")
    if audiences is not None and audience not in audiences:
        return None
    return (message.get("by_audience") or {}).get(audience, message.get("data") or {})


def ephemeral(room_id: str, rendered: Rendered, *, exclude_user_id: str) -> None:
    """A room event that is not history (no seq: typing, joins, leaves) to the room's
    other users, from the event loop (queued with the process's other fan-out)."""
    name, data = rendered
    message = room_message(
        room_id=room_id, seq=None, renderings=dict.fromkeys(AUDIENCES, (name, data))
    )
    assert message is not None
    message["exclude_user_id"] = exclude_user_id
    fanout.publish_from_loop(room_group(room_id), message)


def room_rendered(room_id: object, rendered: Rendered) -> None:
    """An event every audience sees alike and that is not history (a receipt's
    ``message-status-updated``)."""
    name, data = rendered
    message = room_message(
        room_id=room_id, seq=None, renderings=dict.fromkeys(AUDIENCES, (name, data))
    )
    assert message is not None
    publish(room_group(room_id), message)


def user_event(*, user_id: object, rendered: Rendered) -> None:
    """A server event for every socket of one user (group ``user.<id>``)."""
    name, data = rendered
    publish(user_group(user_id), {"type": "user.event", "event": name, "data": data})


def room_access_revoked(*, room_id: object, user_ids: Iterable[object]) -> None:
    publish(
        room_group(room_id),
        {
            "type": "room.access",
            "room_id": str(room_id),
            "revoked_user_ids": [str(uid) for uid in user_ids],
        },
    )


# --- the writer's side ---------------------------------------------------------------------


def rows_written(written: list[tuple[Any, RoomEvent, Notice]]) -> None:
    """Called by the timeline writer's thread once a round is durable, with its rows in
    seq order per room (``(the submitting thread's event loop, row, notice)``). Each
    loop renders and publishes its callers' rows in that order; without a loop
    (commands, tests without a server) they are published here."""
    by_loop: dict[Any, list[tuple[RoomEvent, Notice]]] = {}
    for loop, row, notice in written:
        by_loop.setdefault(loop, []).append((row, notice))
    for loop, rows in by_loop.items():
        if loop is not None and loop.is_running() and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_deliver, rows)
                continue
            except RuntimeError:  # closed meanwhile
                pass
        _deliver(rows)


def _deliver(rows: list[tuple[RoomEvent, Notice]]) -> None:
    for row, notice in rows:
        try:
            row_published(row, notice)
        except Exception:  # written; a lost publish is caught up by replay
            logger.warning("publishing %s failed", row, exc_info=True)


def row_published(row: RoomEvent, notice: Notice) -> dict[Audience, Rendered | None]:
    """Render ``row`` once per audience and publish it; returns the renderings."""
    renderings = {audience: render.event(row, notice.scene, audience) for audience in AUDIENCES}
    message = room_message(room_id=row.room_id, seq=row.seq, renderings=renderings)
    if message is not None:
        publish(room_group(row.room_id), message)
    for user_id, audience in notice.tell_users:
        rendered = renderings.get(audience)
        if rendered is not None:
            user_event(user_id=user_id, rendered=rendered)
    if notice.revoke:
        room_access_revoked(room_id=row.room_id, user_ids=notice.revoke)
    return renderings
