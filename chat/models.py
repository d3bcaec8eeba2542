"""Rooms, the per-room timeline, and attachments.

A room's history is one collection, ``RoomEvent``: every change (a message, an
edit, a delete, an assignment, a close, a system note) is a document with the
room's next ``seq``. Messages ARE the ``message``-kind events, so history is
``kind=message`` ordered by ``seq`` and a replay after a cursor is the one indexed
query ``room=X, seq>N order by seq`` over the unique (room, seq) index.

Timeline writes go through ``chat.writer`` only: ``Room.last_seq`` and
``Room.watermarks`` are changed by conditional single-document updates (a
compare-and-set on ``last_seq``, ``$max`` on watermarks), so never ``save()`` an
existing ``Room`` (it would write back stale copies of both); use
``QuerySet.update()`` for other fields.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_mongodb_backend.fields import ArrayField, ObjectIdField
from django_mongodb_backend.managers import MongoManager

from chat.search_index import SearchTermsField


class RoomStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (RoomStatus.QUEUED, RoomStatus.ACTIVE)


class Room(models.Model):
    """A support conversation between one customer and (once routed) one agent.

    ``open_key`` is the customer's id while the room is open (and the one-open-room
    rule is on) and null otherwise: its unique index, partial on the value being an
    ObjectId, lets at most one open room exist per customer without check-then-insert.

    ``watermarks`` holds the receipts: ``{"<user id>": {"delivered": n, "read": n}}``,
    moved forward only by ``$max`` in one single-document update (services).
    """

    # No single-field FK indexes: the compound (customer, status) / (agent, status)
    # indexes serve those lookups, and every index costs each write.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="support_rooms",
        db_index=False,
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_rooms",
        db_index=False,
    )
    status = models.CharField(max_length=8, choices=RoomStatus.choices, default=RoomStatus.QUEUED)
    subject = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.IntegerField(default=0)
    # When ``last_seq`` was last taken (every compare-and-set sets it): how old a hole is.
    seq_at = models.DateTimeField(null=True, blank=True, editable=False)
    open_key = ObjectIdField(null=True, blank=True, editable=False)
    watermarks = models.JSONField(default=dict, blank=True)
    # Staff only (never in what a customer receives): set by the ``tagged`` /
    # ``untagged`` events' compare-and-set ($addToSet / $pull, ``chat.services.tags``).
    # Rooms stored before tags existed have none (None).
    tags = ArrayField(models.CharField(max_length=32), null=True, blank=True, default=list)
    # The customer's satisfaction rating (1-5), once, after the close: set by the
    # ``rated`` event's compare-and-set (``chat.services.ratings``).
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True, default="")
    rated_at = models.DateTimeField(null=True, blank=True)
    # Routing's (issue 15): the team whose queue the room is in (null: the general
    # queue, every agent; a team is an ``agents`` model, so a plain id, never a key
    # into that app), the skills an agent needs (``[{"name", "min_level"}]``), when the
    # room joined its team's queue (overflow counts from it) and whether it was
    # created while its team was closed. Written by ``room_create`` and by the
    # timeline writer's changes (``chat.assignment``), never by ``save()``.
    team_id = ObjectIdField(null=True, blank=True, editable=False)
    required_skills = models.JSONField(default=list, blank=True, editable=False)
    team_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_offline = models.BooleanField(default=False, editable=False)
    # The newest message, for room lists (issue 27: no read per room): ``{"id", "seq",
    # "sender_id", "text", "created_at", "deleted"}``, written by the send's own
    # compare-and-set and kept by an edit or delete of that message (``chat.writer``).
    last_message = models.JSONField(null=True, blank=True, editable=False)
    # Agents routing must not give this room to (issue 27: an admin removed them from
    # it); an admin may still assign one of them by hand. Ids as strings.
    skip_agents = models.JSONField(default=list, blank=True, editable=False)
    # Issue 30: how far the room is past its SLA targets (null, "nearing", "breached"),
    # staff only. Moved forward only by the ``sla`` event's compare-and-set (its
    # requirement is the state read), so each (room, target, state) is written once.
    sla_first_response = models.CharField(max_length=8, null=True, blank=True, editable=False)  # noqa: DJ001
    sla_resolution = models.CharField(max_length=8, null=True, blank=True, editable=False)  # noqa: DJ001

    objects = MongoManager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Enforcement only (never queried through: lookups use the room id).
            models.UniqueConstraint(fields=["open_key"], name="chat_room_one_open_per_customer"),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="chat_room_customer_status"),
            models.Index(fields=["agent", "status"], name="chat_room_agent_status"),
            models.Index(fields=["status", "queued_at"], name="chat_room_status_queued_at"),
            # Rooms by tag (multikey): an admin's ``{tags}``, an agent's ``{tags, agent}``.
            models.Index(fields=["tags", "agent"], name="chat_room_tags_agent"),
            # One FIFO queue per team: the team is a leading equality (issue 15).
            models.Index(
                fields=["status", "team_id", "queued_at"], name="chat_room_status_team_queued"
            ),
            # Issue 30: ring-no-answer's sweep (active, no reply yet, assigned before a
            # bound) and the SLA sweep (open rooms created before a bound).
            models.Index(
                fields=["status", "first_agent_reply_at", "assigned_at"],
                name="chat_room_unanswered",
            ),
            models.Index(fields=["status", "created_at"], name="chat_room_status_created"),
        ]

    def __str__(self) -> str:
        return f"room {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status != RoomStatus.CLOSED

    def watermark(self, user_id: object) -> tuple[int, int]:
        """(last_delivered_seq, last_read_seq) of one user; read implies delivered."""
        mark = (self.watermarks or {}).get(str(user_id)) or {}
        read = int(mark.get("read", 0))
        return max(int(mark.get("delivered", 0)), read), read


class EventKind(models.TextChoices):
    MESSAGE = "message", "Message"
    MESSAGE_EDITED = "message_edited", "Message edited"
    MESSAGE_DELETED = "message_deleted", "Message deleted"
    ASSIGNED = "assigned", "Assigned"
    TRANSFERRED = "transferred", "Transferred"
    CLOSED = "closed", "Closed"
    SYSTEM = "system", "System note"
    # Fills a seq that an idempotent-send race consumed, so a room's seq has no gaps.
    NOOP = "noop", "Filler"
    # Staff only: never sent, replayed, counted or searched for a customer
    # (``STAFF_KINDS``). A note is edited and deleted like a message (its document
    # holds the current text, the original and the tombstone).
    NOTE = "note", "Private note"
    NOTE_EDITED = "note_edited", "Private note edited"
    NOTE_DELETED = "note_deleted", "Private note deleted"
    TAGGED = "tagged", "Tag added"
    UNTAGGED = "untagged", "Tag removed"
    RATED = "rated", "Rated by the customer"
    # Issue 30: a room nearing or past an SLA target (``data``: target, state, due_at,
    # team_id). Staff only; the integrations' webhooks read the breached ones.
    SLA = "sla", "SLA threshold"


# What a customer never receives, on any path (``chat.render`` decides for every one):
# the agents' notes, the room's tags, the rating as an event, SLA flags.
STAFF_KINDS = frozenset(
    {
        EventKind.NOTE,
        EventKind.NOTE_EDITED,
        EventKind.NOTE_DELETED,
        EventKind.TAGGED,
        EventKind.UNTAGGED,
        EventKind.RATED,
        EventKind.SLA,
    }
)


class RoomEvent(models.Model):
    """One entry of a room's timeline.

    ``message``: ``actor`` is the sender, ``text`` the CURRENT text (edits update it
    in place), ``original_text`` the text as first sent (set by the first edit, kept
    for admins), ``text_seq`` the seq of the edit that set ``text``, ``deleted`` the
    tombstone (the text stays for admins), ``attachments`` a snapshot list of
    ``{"id", "filename", "content_type", "size"}``.

    ``message_edited`` / ``message_deleted``: ``target`` is the message; an edit
    carries its new ``text`` (with the original on the message, the audit trail).
    ``note`` / ``note_edited`` / ``note_deleted``: the same for a private note (staff
    only; a note has no attachments and no search terms). Other kinds put their
    payload in ``data``.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.IntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # "<room>:<sender>:<client_msg_id>" on messages, null on every other kind: unique
    # under a partial index (``idem_key > ""``, migration 0002), the exactly-once key.
    idem_key = models.CharField(max_length=120, null=True, blank=True, editable=False)  # noqa: DJ001
    text = models.TextField(blank=True, default="")
    original_text = models.TextField(null=True, blank=True)  # noqa: DJ001 (None: never edited)
    text_seq = models.IntegerField(null=True, blank=True)
    attachments = models.JSONField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_seq = models.IntegerField(null=True, blank=True)
    target = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    data = models.JSONField(null=True, blank=True)
    # Live messages only: derived from text and seq on save, rewritten by an edit and
    # cleared by a delete; indexed with room_id and seq (migration 0003).
    search_terms = SearchTermsField()

    objects = MongoManager()

    class Meta:
        ordering = ["seq"]
        # The indexes are created raw by migration 0002 (see chat.timeline for why):
        # unique (room_id, seq): the timeline's index; replay, history pages, search
        # and unread counts all start with room=X and a seq range;
        # unique idem_key, partial on idem_key > "": exactly-once send;
        # (room_id, search_terms, seq) by migration 0003: search (chat.search_index).

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} in {self.room_id}"


class Attachment(models.Model):
    """An uploaded file. ``storage_name`` is server-generated; ``filename`` is the
    client's name made safe, with the extension of the type detected from the bytes."""

    # Looked up by id only: no FK indexes.
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="attachments", db_index=False
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    storage_name = models.CharField(max_length=255)
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=100)
    size = models.IntegerField()
    message = models.ForeignKey(
        RoomEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.filename


class SendKey(models.Model):
    """The exactly-once guard of a send: ``id`` is the message's ``idem_key``
    (``"<room>:<sender>:<client_msg_id>"``), stored as the document's ``_id``. The
    writer inserts it in the same ordered command right BEFORE taking the message's
    seq, so a retry is refused by this insert and never consumes a seq
    (``chat.writer``)."""

    id = models.CharField(primary_key=True, max_length=160, db_column="_id")
    room_id = ObjectIdField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id
