"""Agent capacity: the ``active_chats`` counter on the agent's own document.

Reserved and released with conditional single-document updates, so no agent ever
holds more than ``max_chats`` rooms however many processes route at once. A crash
between a reservation and the room claim can leave the counter off by one; routing's
reconcile recomputes it from the rooms.
"""

from __future__ import annotations

from bson import ObjectId
from django.utils import timezone

from accounts.models import Role, User
from chat_project import mongo


def _users():
    return mongo.collection(User)


def capacity_reserve(*, agent: User, force: bool = False) -> bool:
    """Take one chat slot on ``agent``; False when full, not an accepting agent, or
    its ``max_chats`` is no longer the one read into ``agent`` (the caller reads the
    agent again). ``force`` (an admin's forced assignment) ignores the cap and the
    switch.

    The cap is the value read, required unchanged (``max_chats == M`` and
    ``active_chats < M`` in one filter), not ``$expr`` comparing the two fields: the
    same single-document atomicity, but SecantusDB does not use the ``_id`` index for
    a filter with ``$expr`` and scanned every user (55 ms against 2 ms with 2,200
    users: the routing burst of issue 8 spent most of its database time there)."""
    query: dict = {"_id": agent.pk, "role": Role.AGENT, "is_active": True}
    if not force:
        query["accepting_chats"] = True
        query["max_chats"] = agent.max_chats
        query["active_chats"] = {"$lt": agent.max_chats}
    result = _users().update_one(
        query, {"$inc": {"active_chats": 1}, "$set": {"last_assigned_at": timezone.now()}}
    )
    return result.modified_count == 1


def capacity_release(*, agent_id) -> bool:
    result = _users().update_one(
        {"_id": agent_id, "active_chats": {"$gt": 0}}, {"$inc": {"active_chats": -1}}
    )
    return result.modified_count == 1


def agents_holding_chats() -> list[ObjectId]:
    """The ids of agents whose counter says they hold a chat: a walk of the agents
    along the (role, username) index, not a read of every user or every active room."""
    pipeline = [
        {"$match": mongo.index_match({"role": Role.AGENT.value})},
        {"$match": {"active_chats": {"$gt": 0}}},
        {"$project": {"_id": 1}},
    ]
    return [row["_id"] for row in _users().aggregate(pipeline)]


def capacity_set(*, agent_id, active_chats: int) -> bool:
    """Reconcile: set the counter to what the rooms say. True if it changed."""
    result = _users().update_one(
        {"_id": agent_id, "active_chats": {"$ne": active_chats}},
        {"$set": {"active_chats": active_chats}},
    )
    return result.modified_count == 1
