"""Agent capacity: the ``active_chats`` counter on the agent's own document.

Reserved and released with conditional single-document updates, so no agent ever
holds more than ``max_chats`` rooms however many processes route at once. A crash
between a reservation and the room claim can leave the counter off by one; routing's
reconcile recomputes it from the rooms.
"""

from __future__ import annotations

from django.db import connections
from django.utils import timezone

from accounts.models import Role, User


def _users():
    return connections["default"].get_collection(User._meta.db_table)


def capacity_reserve(*, agent_id, force: bool = False) -> bool:
    """Take one chat slot on the agent; False when full (or not an accepting agent).
    ``force`` (an admin's forced assignment) ignores the cap and the switch."""
    query: dict = {"_id": agent_id, "role": Role.AGENT, "is_active": True}
    if not force:
        query["accepting_chats"] = True
        query["$expr"] = {"$lt": ["$active_chats", "$max_chats"]}
    result = _users().update_one(
        query, {"$inc": {"active_chats": 1}, "$set": {"last_assigned_at": timezone.now()}}
    )
    return result.modified_count == 1


def capacity_release(*, agent_id) -> bool:
    result = _users().update_one(
        {"_id": agent_id, "active_chats": {"$gt": 0}}, {"$inc": {"active_chats": -1}}
    )
    return result.modified_count == 1


def capacity_set(*, agent_id, active_chats: int) -> bool:
    """Reconcile: set the counter to what the rooms say. True if it changed."""
    result = _users().update_one(
        {"_id": agent_id, "active_chats": {"$ne": active_chats}},
        {"$set": {"active_chats": active_chats}},
    )
    return result.modified_count == 1
