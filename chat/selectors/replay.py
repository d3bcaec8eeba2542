"""Replay: every timeline event after a cursor, in the shapes published live (``sync``,
a socket's join with ``after_seq``, gap repair, ``GET .../events``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings

from accounts.models import User
from chat import dtos, render, routing_hooks, timeline
from chat import holes as holes_module
from chat.exceptions import ResyncRequired
from chat.models import EventKind, RoomEvent
from chat.selectors.history import room_history_page
from chat.selectors.rooms import room_get_for_user, rooms_last_seq, seq_value
from chat_project.errors import DomainError, NotFound

# Items edited and deleted in place, and the events that edit and delete them.
_ITEMS = (EventKind.MESSAGE, EventKind.NOTE)
_CHANGES = {
    EventKind.MESSAGE_EDITED: EventKind.MESSAGE,
    EventKind.MESSAGE_DELETED: EventKind.MESSAGE,
    EventKind.NOTE_EDITED: EventKind.NOTE,
    EventKind.NOTE_DELETED: EventKind.NOTE,
}
# Rows whose rendering shows the room (and so routing's extras for it).
_WITH_ROOM = (EventKind.ASSIGNED, EventKind.TRANSFERRED, EventKind.CLOSED, EventKind.SYSTEM)


def room_events_after(
    *, room_id: object, user: User, after_seq: int, limit: int = 500
) -> dict[str, Any]:
    """Every timeline event after ``after_seq`` in seq order, in the live shapes
    (``{"event", "data"}``); ``noop`` fillers are left out.

    Messages are rendered in their CURRENT state (a replayed ``new-message`` of a
    message edited since carries the new text; the ``message-updated`` events after
    it carry the same), so a client that applies the list in order ends in the
    stored state.

    Holes (a seq taken in a round the database crashed in before its event) are
    tolerated: ``last_seq`` is the room's, so the client's cursor moves past them, and
    a settled one gets its ``noop`` filler here (``chat.holes``). A hole left by an edit
    or delete that updated the message but not its event is repaired here from the
    message's ``text_seq`` / ``deleted_seq``. With ``has_more`` the client asks again
    from ``cursor``.

    Each row is rendered for the caller by ``chat.render``, as it is live: a customer
    gets nothing of ``STAFF_KINDS`` (notes, tags, the rating event), their seqs stepped
    over like fillers' (``last_seq`` moves the cursor past them).
    """
    after_seq = seq_value(after_seq, field="after_seq")
    limit = max(1, min(int(limit), 1000))
    room = room_get_for_user(room_id=room_id, user=user)
    audience = render.audience_of(user)
    shown = render.kinds_shown(audience)
    if after_seq > room.last_seq:
        raise ResyncRequired("after_seq is ahead of the room.", details={"room_id": str(room.pk)})
    if room.last_seq - after_seq > settings.CHAT_REPLAY_MAX_EVENTS:
        raise ResyncRequired(
            "Too far behind to replay; reload the history.", details={"room_id": str(room.pk)}
        )
    # A page covers the seqs (after_seq, cursor]: at most ``limit`` events, since a
    # seq is used once. Fillers are left out; a window that holds nothing else moves
    # on, so a page with ``has_more`` is never empty.
    start = after_seq
    while True:
        cursor = min(start + limit, room.last_seq)
        window = timeline.events(room.pk, seq={"$gt": start, "$lte": cursor})
        rows = [row for row in window if row.kind in shown]
        if rows or cursor >= room.last_seq:
            break
        start = cursor
    more = cursor < room.last_seq
    # Seqs with no event: fillers, or holes a crashed writer left (repaired below if
    # they were an edit or delete; a filler never carries text_seq or deleted_seq).
    # (Kinds not shown to the caller are present too: stepped over, never holes.)
    present = {row.seq for row in window}
    holes = [seq for seq in range(after_seq + 1, cursor + 1) if seq not in present]
    targets: dict[object, RoomEvent] = {row.pk: row for row in rows if row.kind in _ITEMS}
    missing = {
        row.target_id
        for row in rows
        if row.kind in _CHANGES and row.target_id and row.target_id not in targets
    }
    for item in timeline.events_by_ids(list(missing)):
        if item.kind in shown:
            targets[item.pk] = item
    if holes:
        repaired = timeline.events(
            room.pk,
            then={
                "kind": {"$in": [kind.value for kind in _ITEMS if kind in shown]},
                "$or": [{"text_seq": {"$in": holes}}, {"deleted_seq": {"$in": holes}}],
            },
        )
        for item in repaired:
            targets[item.pk] = item
    # A row that changed who holds the room renders the room as it left it.
    held = {row.pk: render.room_as_of(row, room) for row in rows if row.kind in _WITH_ROOM}
    named = {row.actor_id for row in rows} | {m.actor_id for m in targets.values()}
    named |= {room.customer_id, room.agent_id} | {r.agent_id for r in held.values()}
    scene = render.Scene(room=room, users=dtos.users_by_id(named, known=[user]), items=targets)
    items: list[tuple[int, str, dict[str, Any]]] = []
    for row in rows:
        row_scene = scene
        if row.pk in held:
            extras = routing_hooks.room_extras(held[row.pk])
            row_scene = dataclasses.replace(scene, room=held[row.pk], room_extras=extras)
        rendered = render.event(row, row_scene, audience)
        if rendered is not None:
            items.append((row.seq, *rendered))
    hole_set = set(holes)
    repaired_seqs = set()
    for item in targets.values():
        for seq, deleted in ((item.text_seq, False), (item.deleted_seq, True)):
            if seq in hole_set:
                rendered = render.item_changed(
                    item, seq=seq, deleted=deleted, scene=scene, audience=audience
                )
                if rendered is not None:
                    items.append((seq, *rendered))
                repaired_seqs.add(seq)
    # Only the last window read is known seq by seq (earlier ones held no events).
    known = {seq for seq in hole_set if seq > start} - repaired_seqs
    unfilled = holes_module.settled(room, known, window)
    if unfilled:
        holes_module.holes_fill(room_id=room.pk, seqs=unfilled)
    items.sort(key=lambda item: item[0])
    return {
        "room_id": str(room.pk),
        "events": [{"event": name, "data": data} for _, name, data in items],
        "last_seq": room.last_seq,
        "cursor": cursor,
        "has_more": more,
        "watermarks": dtos.watermarks_dto(room),
    }


REPLAY_PAGE = 500


def room_replay(*, room_id: str, user: Any, after_seq: int, max_events: int) -> dict[str, Any]:
    """Every event after ``after_seq`` in seq order, as ``chat-history`` data: ``events``
    (each ``{"event", "data"}`` exactly as it is published live), ``last_seq`` (the
    room's, the new cursor) and ``watermarks``. More than ``max_events`` missed is
    ``resync_required`` (reload the latest page instead)."""
    events: list[dict[str, Any]] = []
    cursor = after_seq
    while True:
        page = room_events_after(room_id=room_id, user=user, after_seq=cursor, limit=REPLAY_PAGE)
        events.extend(page["events"])
        if len(events) > max_events:
            raise ResyncRequired(f"More than {max_events} events were missed; reload the room.")
        if not page["has_more"]:
            return {
                "room_id": room_id,
                "after_seq": after_seq,
                "events": events,
                "last_seq": page["last_seq"],
                "watermarks": page["watermarks"],
            }
        cursor = page["cursor"]


def room_join_history(
    *, room_id: str, user: Any, after_seq: int | None, max_events: int
) -> dict[str, Any]:
    """``chat-history`` data for a join: the latest page (``messages``, oldest first,
    ``next`` to page back) or, with ``after_seq``, the replay of :func:`room_replay`."""
    if after_seq is not None:
        return room_replay(room_id=room_id, user=user, after_seq=after_seq, max_events=max_events)
    page = room_history_page(room_id=room_id, user=user)
    return {
        "room_id": room_id,
        "messages": page["results"],
        "next": page["next"],
        "last_seq": page["last_seq"],
        "watermarks": page["watermarks"],
    }


def rooms_replay(
    *, user: Any, cursors: dict[str, int], max_events: int
) -> dict[str, dict[str, Any] | DomainError]:
    """``sync``: each room's replay, or the DomainError that room failed with. The rooms
    the caller may see are read in one go first: a room it names that it may not see (or
    that does not exist) costs nothing more (issue 28: 200 unknown ids were 200 reads)."""
    results: dict[str, dict[str, Any] | DomainError] = {}
    visible = rooms_last_seq(user=user, room_ids=list(cursors))
    for room_id, after_seq in cursors.items():
        if room_id not in visible:
            results[room_id] = NotFound("No such room.")
            continue
        try:
            results[room_id] = room_replay(
                room_id=room_id, user=user, after_seq=after_seq, max_events=max_events
            )
        except DomainError as exc:
            results[room_id] = exc
    return results
