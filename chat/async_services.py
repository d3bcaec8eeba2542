"""The chat app's one ``database_sync_to_async`` boundary (STYLE.md): the gateway imports
only from here, one thread hop per use case. Everything is sync underneath and raises
DomainErrors, which cross the hop unchanged."""

from __future__ import annotations

from chat import selectors, services
from chat_project.hops import database_hop

message_send = database_hop(services.message_send)
message_edit = database_hop(services.message_edit)
message_delete = database_hop(services.message_delete)
receipt_advance = database_hop(services.receipt_advance)
receipt_marks_advance = database_hop(services.receipt_marks_advance)

room_join = database_hop(selectors.room_join_history)
room_replay = database_hop(selectors.room_replay)
rooms_replay = database_hop(selectors.rooms_replay)

note_add = database_hop(services.note_add)
note_edit = database_hop(services.note_edit)
note_delete = database_hop(services.note_delete)
room_tag = database_hop(services.room_tag)
room_untag = database_hop(services.room_untag)
room_rate = database_hop(services.room_rate)
