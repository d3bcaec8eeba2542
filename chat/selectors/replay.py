"""Replay: every timeline event after a cursor, in the shapes published live (``sync``,
a socket's join with ``after_seq``, gap repair, ``GET .../events``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import User
from chat import dtos, events, timeline
from chat import holes as holes_module
from chat.exceptions import ResyncRequired
from chat.models import STAFF_KINDS, EventKind, RoomEvent
from chat.selectors.history import room_history_page
from chat.selectors.rooms import is_staff, room_get_for_user, seq_value
from chat_project.errors import DomainError

_KIND_EVENT = {
    EventKind.CLOSED: events.ROOM_CLOSED,
    EventKind.ASSIGNED: events.ROOM_ASSIGNED,
    EventKind.TRANSFERRED: events.ROOM_TRANSFERRED,
}
# Items edited and deleted in place, and the events that edit and delete them.
_ITEMS = (EventKind.MESSAGE, EventKind.NOTE)
_CHANGES = {
    EventKind.MESSAGE_EDITED: EventKind.MESSAGE,
    EventKind.MESSAGE_DELETED: EventKind.MESSAGE,
    EventKind.NOTE_EDITED: EventKind.NOTE,
    EventKind.NOTE_DELETED: EventKind.NOTE,
}
_TAG_EVENT = {EventKind.TAGGED: events.ROOM_TAGGED, EventKind.UNTAGGED: events.ROOM_UNTAGGED}


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

    A customer gets nothing of ``STAFF_KINDS`` (notes, tags, the rating event) and no
    transfer note: their seqs are stepped over like fillers' (``last_seq`` moves the
    cursor past them).
    """
    after_seq = seq_value(after_seq, field="after_seq")
    limit = max(1, min(int(limit), 1000))
    room = room_get_for_user(room_id=room_id, user=user)
    staff = is_staff(user)
    hidden = set() if staff else STAFF_KINDS
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
        rows = [row for row in window if row.kind != EventKind.NOOP and row.kind not in hidden]
        if rows or cursor >= room.last_seq:
            break
        start = cursor
    more = cursor < room.last_seq
    # Seqs with no event: fillers, or holes a crashed writer left (repaired below if
    # they were an edit or delete; a filler never carries text_seq or deleted_seq).
    # (Hidden kinds are present too: stepped over, never holes.)
    present = {row.seq for row in window}
    holes = [seq for seq in range(after_seq + 1, cursor + 1) if seq not in present]
    targets: dict[object, RoomEvent] = {row.pk: row for row in rows if row.kind in _ITEMS}
    missing = {
        row.target_id
        for row in rows
        if row.kind in _CHANGES and row.target_id and row.target_id not in targets
    }
    for item in timeline.events_by_ids(list(missing)):
        if item.kind not in hidden:
            targets[item.pk] = item
    if holes:
        repaired = timeline.events(
            room.pk,
            then={
                "kind": {"$in": [kind.value for kind in _ITEMS if kind not in hidden]},
                "$or": [{"text_seq": {"$in": holes}}, {"deleted_seq": {"$in": holes}}],
            },
        )
        for item in repaired:
            targets[item.pk] = item
    taggers = {row.actor_id for row in rows if row.kind in _TAG_EVENT}
    users = dtos.users_by_id(
        {m.actor_id for m in targets.values()} | taggers | {room.customer_id, room.agent_id},
        known=[user],
    )
    bases = {
        pk: (dtos.note_base if m.kind == EventKind.NOTE else dtos.message_base)(m, users)
        for pk, m in targets.items()
    }

    def current(pk: object) -> dict[str, Any]:
        if targets[pk].kind == EventKind.NOTE:
            return dtos.note_for_viewer(bases[pk], viewer=user)
        return dtos.message_for_viewer(bases[pk], room=room, viewer=user)

    rid = str(room.pk)
    items: list[tuple[int, str, dict[str, Any]]] = []
    for row in rows:
        data: dict[str, Any] = {"room_id": rid, "seq": row.seq}
        if row.kind == EventKind.MESSAGE:
            items.append((row.seq, events.NEW_MESSAGE, {**data, "message": current(row.pk)}))
        elif row.kind == EventKind.MESSAGE_EDITED and row.target_id in bases:
            message = current(row.target_id)
            items.append((row.seq, events.MESSAGE_UPDATED, {**data, "message": message}))
        elif row.kind == EventKind.MESSAGE_DELETED:
            message_id = str(row.target_id)
            items.append((row.seq, events.MESSAGE_DELETED, {**data, "message_id": message_id}))
        elif row.kind in _KIND_EVENT:
            room_data = {**(row.data or {}), **data, "room": dtos.room_dto(room, users)}
            # A transfer's note is a private note (issue 16); transfers stored before
            # that hold it in their data: never a customer's.
            if row.kind == EventKind.TRANSFERRED and not staff:
                room_data.pop("note", None)
            items.append((row.seq, _KIND_EVENT[row.kind], room_data))
        elif row.kind == EventKind.SYSTEM:
            items.append(
                (row.seq, events.SYSTEM_MESSAGE, {**(row.data or {}), **data, "text": row.text})
            )
        elif row.kind == EventKind.NOTE:
            items.append((row.seq, events.NOTE_ADDED, {**data, "note": current(row.pk)}))
        elif row.kind == EventKind.NOTE_EDITED and row.target_id in bases:
            items.append((row.seq, events.NOTE_UPDATED, {**data, "note": current(row.target_id)}))
        elif row.kind == EventKind.NOTE_DELETED:
            items.append((row.seq, events.NOTE_DELETED, {**data, "note_id": str(row.target_id)}))
        elif row.kind in _TAG_EVENT:
            tag_data = {**data, "tag": (row.data or {}).get("tag"), "by": _by(row, users)}
            items.append((row.seq, _TAG_EVENT[row.kind], tag_data))
        elif row.kind == EventKind.RATED:
            rated = {**data, "rating": _rating(row), "customer": _by(row, users)}
            items.append((row.seq, events.ROOM_RATED, rated))
    hole_set = set(holes)
    repaired_seqs = set()
    for pk, item in targets.items():
        note = item.kind == EventKind.NOTE
        if item.text_seq in hole_set:
            key, name = (
                ("note", events.NOTE_UPDATED) if note else ("message", events.MESSAGE_UPDATED)
            )
            items.append(
                (item.text_seq, name, {"room_id": rid, "seq": item.text_seq, key: current(pk)})
            )
            repaired_seqs.add(item.text_seq)
        if item.deleted_seq in hole_set:
            key, name = (
                ("note_id", events.NOTE_DELETED) if note else ("message_id", events.MESSAGE_DELETED)
            )
            items.append(
                (item.deleted_seq, name, {"room_id": rid, "seq": item.deleted_seq, key: str(pk)})
            )
            repaired_seqs.add(item.deleted_seq)
    # Only the last window read is known seq by seq (earlier ones held no events).
    known = {seq for seq in hole_set if seq > start} - repaired_seqs
    unfilled = holes_module.settled(room, known, window)
    if unfilled:
        holes_module.holes_fill(room_id=room.pk, seqs=unfilled)
    items.sort(key=lambda item: item[0])
    return {
        "room_id": rid,
        "events": [{"event": name, "data": data} for _, name, data in items],
        "last_seq": room.last_seq,
        "cursor": cursor,
        "has_more": more,
        "watermarks": dtos.watermarks_dto(room),
    }


def _by(row: RoomEvent, users: dict[str, Any]) -> dict[str, Any] | None:
    return dtos.user_brief(users.get(str(row.actor_id))) if row.actor_id else None


def _rating(row: RoomEvent) -> dict[str, Any]:
    data = row.data or {}
    return {
        "score": data.get("score"),
        "comment": data.get("comment", ""),
        "rated_at": dtos.iso(row.created_at),
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
    """``sync``: each room's replay, or the DomainError that room failed with."""
    results: dict[str, dict[str, Any] | DomainError] = {}
    for room_id, after_seq in cursors.items():
        try:
            results[room_id] = room_replay(
                room_id=room_id, user=user, after_seq=after_seq, max_events=max_events
            )
        except DomainError as exc:
            results[room_id] = exc
    return results
