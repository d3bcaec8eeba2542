"""Reads, by area: ``rooms`` (and who may see which), ``queue``, ``history``, ``replay``,
``search``, ``unread``, ``attachments``, ``notes`` (private: staff only).

Visibility (every room-facing read and write starts here, :func:`can_see`):

- a customer (role ``user``) sees the rooms they opened;
- an agent sees the rooms currently assigned to them: after a transfer the previous
  agent loses access, and a queued room is seen by no agent;
- an admin sees every room;
- anything else is a 404 ``not_found``, never a 403, so room ids leak nothing.

Reads return dicts and lists, never lazy QuerySets. Queries go through
``chat.timeline`` (flat, index-shaped filters; see there why). ``select_related`` is
not used either: the backend places its ``$lookup`` before the ``$match`` (a join of
the whole collection); users are fetched by id in one query (``dtos.users_by_id``).
"""

from __future__ import annotations

from chat.selectors.attachments import attachment_get_for_user
from chat.selectors.history import (
    HISTORY_MAX_LIMIT,
    message_audit,
    message_get_in_room,
    message_room_id,
    room_history_page,
)
from chat.selectors.notes import NOTES_MAX_LIMIT, note_audit, note_get_in_room, note_list
from chat.selectors.queue import (
    QUEUE_ORDER,
    queue_places,
    queue_rooms_ahead,
    queue_waiting_since,
    queued_rooms,
    team_queue,
)
from chat.selectors.replay import room_events_after, room_join_history, room_replay, rooms_replay
from chat.selectors.rooms import (
    active_room_counts,
    active_rooms_of,
    can_see,
    is_participant,
    is_staff,
    object_id,
    require_staff,
    room_by_id,
    room_detail,
    room_get_for_user,
    room_ids_for_user,
    room_ids_with_tag,
    room_list,
    room_queue_position,
    rooms_first_assigned,
    rooms_last_seq,
    seq_value,
    tags_in_use,
)
from chat.selectors.search import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS, message_search
from chat.selectors.unread import unread_counts

__all__ = [
    "HISTORY_MAX_LIMIT",
    "NOTES_MAX_LIMIT",
    "QUEUE_ORDER",
    "SEARCH_MAX_CHARS",
    "SEARCH_MAX_WORDS",
    "active_room_counts",
    "active_rooms_of",
    "attachment_get_for_user",
    "can_see",
    "is_participant",
    "is_staff",
    "message_audit",
    "message_get_in_room",
    "message_room_id",
    "message_search",
    "note_audit",
    "note_get_in_room",
    "note_list",
    "object_id",
    "queue_places",
    "queue_rooms_ahead",
    "queue_waiting_since",
    "queued_rooms",
    "require_staff",
    "room_by_id",
    "room_detail",
    "room_events_after",
    "room_get_for_user",
    "room_history_page",
    "room_ids_for_user",
    "room_ids_with_tag",
    "room_join_history",
    "room_list",
    "room_queue_position",
    "room_replay",
    "rooms_first_assigned",
    "rooms_last_seq",
    "rooms_replay",
    "seq_value",
    "tags_in_use",
    "team_queue",
    "unread_counts",
]
