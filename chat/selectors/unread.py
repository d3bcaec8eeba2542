"""Unread counts: messages from others above the caller's read watermark."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from chat import timeline
from chat.models import OPEN_STATUSES
from chat.selectors.rooms import visible_match


def unread_counts(*, user: User) -> dict[str, Any]:
    """Messages from others above the caller's read watermark, per open room the
    caller takes part in (customer or assigned agent; admins take part in none).
    One query for the rooms, then per room one aggregation that counts in the
    database from the read watermark on (no message is loaded)."""
    if not user.is_authenticated or user.is_admin:
        return {"total": 0, "rooms": {}}
    match = {**visible_match(user), "status": {"$in": [s.value for s in OPEN_STATUSES]}}
    counts = {
        str(room.pk): timeline.count_unread(
            room.pk, after_seq=room.watermark(user.pk)[1], reader_id=user.pk
        )
        for room in timeline.rooms(match)
    }
    return {"total": sum(counts.values()), "rooms": counts}
