"""The chat app's one ``database_sync_to_async`` boundary (STYLE.md): the gateway imports
only from here, one thread hop per use case. Everything is sync underneath and raises
DomainErrors, which cross the hop unchanged.

Sends and receipts, the socket's hot path, run the very body REST runs
(``chat.writer.steps``), awaited on the loop: the writer thread answers the loop
directly and a thread hop is taken only when the body must read (attachments, a retry,
a refusal)."""

from __future__ import annotations

from typing import Any

from chat import selectors, services
from chat.writer import steps
from chat_project.hops import database_hop


async def message_send(**kwargs: Any) -> dict[str, Any]:
    message, _created = await steps.arun(services.message_send_steps(**kwargs))
    return message


async def receipt_marks_advance(**kwargs: Any) -> dict[str, Any]:
    return await steps.arun(services.receipt_marks_steps(**kwargs))


message_edit = database_hop(services.message_edit)
message_delete = database_hop(services.message_delete)
receipt_advance = database_hop(services.receipt_advance)

room_join = database_hop(selectors.room_join_history)
room_ids_for_user = database_hop(selectors.room_ids_for_user)
rooms_last_seq = database_hop(selectors.rooms_last_seq)
message_room_id = database_hop(selectors.message_room_id)
room_replay = database_hop(selectors.room_replay)
rooms_replay = database_hop(selectors.rooms_replay)

note_add = database_hop(services.note_add)
note_edit = database_hop(services.note_edit)
note_delete = database_hop(services.note_delete)
room_tag = database_hop(services.room_tag)
room_untag = database_hop(services.room_untag)
room_rate = database_hop(services.room_rate)
