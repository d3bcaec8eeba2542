"""The chat app's one ``database_sync_to_async`` boundary (STYLE.md): the gateway imports
only from here, one thread hop per use case. Everything is sync underneath and raises
DomainErrors, which cross the hop unchanged."""

from __future__ import annotations

from typing import Any

from chat import selectors, services
from chat.exceptions import ResyncRequired
from chat_project.errors import DomainError
from chat_project.hops import database_hop

_hop = database_hop  # on the gateway's database threads (chat_project.hops)

message_send = _hop(services.message_send)
message_edit = _hop(services.message_edit)
message_delete = _hop(services.message_delete)
receipt_advance = _hop(services.receipt_advance)
receipt_marks_advance = _hop(services.receipt_marks_advance)

REPLAY_PAGE = 500


def _room_replay(*, room_id: str, user: Any, after_seq: int, max_events: int) -> dict[str, Any]:
    """Every event after ``after_seq`` in seq order, as ``chat-history`` data: ``events``
    (each ``{"event", "data"}`` exactly as it is published live), ``last_seq`` (the
    room's, the new cursor) and ``watermarks``. More than ``max_events`` missed is
    ``resync_required`` (reload the latest page instead)."""
    events: list[dict[str, Any]] = []
    cursor = after_seq
    while True:
        page = selectors.room_events_after(
            room_id=room_id, user=user, after_seq=cursor, limit=REPLAY_PAGE
        )
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


def _room_join(
    *, room_id: str, user: Any, after_seq: int | None, max_events: int
) -> dict[str, Any]:
    """``chat-history`` data for a join: the latest page (``messages``, oldest first,
    ``next`` to page back) or, with ``after_seq``, the replay of :func:`_room_replay`."""
    if after_seq is not None:
        return _room_replay(room_id=room_id, user=user, after_seq=after_seq, max_events=max_events)
    page = selectors.room_history_page(room_id=room_id, user=user)
    return {
        "room_id": room_id,
        "messages": page["results"],
        "next": page["next"],
        "last_seq": page["last_seq"],
        "watermarks": page["watermarks"],
    }


def _rooms_replay(
    *, user: Any, cursors: dict[str, int], max_events: int
) -> dict[str, dict[str, Any] | DomainError]:
    """``sync``: each room's replay, or the DomainError that room failed with."""
    results: dict[str, dict[str, Any] | DomainError] = {}
    for room_id, after_seq in cursors.items():
        try:
            results[room_id] = _room_replay(
                room_id=room_id, user=user, after_seq=after_seq, max_events=max_events
            )
        except DomainError as exc:
            results[room_id] = exc
    return results


room_join = _hop(_room_join)
room_replay = _hop(_room_replay)
rooms_replay = _hop(_rooms_replay)
