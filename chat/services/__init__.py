"""Chat writes, by area: ``rooms``, ``messages``, ``edits`` (and deletes), ``receipts``,
``attachments``, ``retention``, ``notes`` (private), ``tags``, ``ratings`` (CSAT);
``inputs`` and ``participants`` are what they share.

Every change to a room's history goes through :mod:`chat.writer` (group commit, one
ordered ``bulkWrite`` per round): a function here validates and authorises what it can
without reading, builds the event, submits it, and answers from the outcome. What it
is told about a room (a socket's ``known_seq``) only saves the writer a read; nothing
else differs between a socket and REST.

How a room's history stays consistent without transactions
-----------------------------------------------------------
Each change takes the room's next ``seq`` by a compare-and-set on the room document
(``last_seq`` n -> n+1 while the room is open and the actor still takes part), and its
event is inserted at that seq in the same command; a unique (room, seq) index makes a
seq impossible to use twice, and a send's key (``chat_sendkey``, inserted before the
compare-and-set) makes a retry find the first copy without taking a seq. Events are
published only once the round is durable, in seq order.

Crash points (``chat.writer`` explains why only a database crash can stop a round
half-way) and why each is safe:

1. Send key written, seq not taken: a retry finds the key but no message; after a
   moment the key is discarded and the send goes through (:func:`_replay_sent`).
2. Seq taken, event not written: a hole. Replay skips it and reports the room's
   ``last_seq``; once settled, ``chat.holes`` fills it with a ``noop``. The client got
   no ack and retries with the same ``client_msg_id``.
3. Edit or delete: the message document is updated (guarded: not deleted, no later
   edit) right before the ``message_edited`` / ``message_deleted`` event goes in; a
   crash between them leaves the new text with a hole at its seq, which replay rebuilds
   from the message's ``text_seq`` / ``deleted_seq`` (``selectors.room_events_after``).
4. A send with attachments links them after its ack: the message carries its
   attachment snapshot and downloads are authorised by room, so nothing is lost; the
   file only stays "unsent" for the link check.
5. Create: one insert guarded by the unique ``open_key`` index; the optional first
   message is a normal send afterwards (crash: an open room without it).
6. Receipts: one ``$max`` update; nothing to pair.

Redis (cache, channel layer) is written only after MongoDB, and only as an
optimisation: a lost publish is caught up by replay, a cached page is keyed by
``last_seq`` so it can never shadow a newer write.
"""

from chat.services.attachments import attachment_open, attachment_upload
from chat.services.edits import message_delete, message_edit
from chat.services.inputs import CLIENT_MSG_ID_MAX
from chat.services.messages import message_send, message_send_or_replay, message_send_steps
from chat.services.notes import note_add, note_delete, note_edit, transfer_note_add
from chat.services.ratings import RATING_COMMENT_MAX, room_rate
from chat.services.receipts import (
    RECEIPT_KINDS,
    receipt_advance,
    receipt_marks_advance,
    receipt_marks_steps,
)
from chat.services.retention import message_audit_purge
from chat.services.rooms import (
    FIRST_MESSAGE_CLIENT_ID,
    SUBJECT_MAX,
    room_close,
    room_create,
    room_skills_update,
)
from chat.services.tags import room_tag, room_untag
from chat.services.transcripts import room_transcript_email

__all__ = [
    "CLIENT_MSG_ID_MAX",
    "FIRST_MESSAGE_CLIENT_ID",
    "RATING_COMMENT_MAX",
    "RECEIPT_KINDS",
    "SUBJECT_MAX",
    "attachment_open",
    "attachment_upload",
    "message_audit_purge",
    "message_delete",
    "message_edit",
    "message_send",
    "message_send_or_replay",
    "message_send_steps",
    "note_add",
    "note_delete",
    "note_edit",
    "receipt_advance",
    "receipt_marks_advance",
    "receipt_marks_steps",
    "room_close",
    "room_create",
    "room_rate",
    "room_skills_update",
    "room_tag",
    "room_transcript_email",
    "room_untag",
    "transfer_note_add",
]
