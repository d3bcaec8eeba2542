"""Audit retention: what only admins could see is forgotten after a while."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from chat import timeline
from chat.models import EventKind

ITEMS = [EventKind.MESSAGE.value, EventKind.NOTE.value]
EDITS = [EventKind.MESSAGE_EDITED.value, EventKind.NOTE_EDITED.value]


def message_audit_purge(*, now=None) -> dict[str, int]:
    """Forget what only admins could see once it is older than
    CHAT_AUDIT_RETENTION_DAYS: originals of edited messages and private notes, the texts
    of their edit events and the texts of deleted ones. Run daily (``manage.py
    purge_chat_audit``)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHAT_AUDIT_RETENTION_DAYS)
    # A daily batch: these multi-field filters scan the collection on SecantusDB.
    collection = timeline.events_collection()
    edits = collection.update_many(
        {
            "kind": {"$in": EDITS},
            "created_at": {"$lt": cutoff},
            "text": {"$ne": ""},
        },
        {"$set": {"text": ""}},
    )
    originals = collection.update_many(
        {
            "kind": {"$in": ITEMS},
            "edited_at": {"$lt": cutoff},
            "original_text": {"$ne": None},
        },
        {"$set": {"original_text": None}},
    )
    deleted = collection.update_many(
        {
            "kind": {"$in": ITEMS},
            "deleted": True,
            "deleted_at": {"$lt": cutoff},
            "text": {"$ne": ""},
        },
        {"$set": {"text": "", "original_text": None, "attachments": None}},
    )
    return {
        "edit_texts": edits.modified_count,
        "originals": originals.modified_count,
        "deleted_texts": deleted.modified_count,
    }
