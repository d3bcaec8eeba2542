"""The agents app's raw MongoDB reads, in the shape the embedded server serves from an
index (the rule: ``chat_project.mongo``)."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from django_mongodb_backend.queryset import MongoQuerySet

from accounts.models import Role, User
from agents.models import RoutingAudit
from chat_project import mongo


def accepting_agents() -> list[User]:
    """Agents with the accepting switch on: the first stage is ``{role}``, served by the
    (role, username) index; the switch narrows after it (the ORM's ``filter()`` sends
    an ``$and``, for which SecantusDB scanned every user: 69 ms against 15 ms with 2,200
    users; ``{role, accepting_chats}`` fits no index either)."""
    first = mongo.index_match({"role": Role.AGENT.value})
    pipeline = [{"$match": first}, {"$match": {"accepting_chats": True}}]
    return list(MongoQuerySet(model=User).raw_aggregate(pipeline))


def audits_since(*, action: str, since: datetime) -> int:
    """How many routing audit rows of ``action`` since ``since``."""
    match = mongo.index_match({"action": action}, ("at", {"$gte": since}))
    return mongo.collection(RoutingAudit).count_documents(match)


def audits_since_by_team(*, action: str, since: datetime) -> dict[ObjectId | None, int]:
    """How many routing audit rows of ``action`` since ``since``, per queue's team."""
    match = mongo.index_match({"action": action}, ("at", {"$gte": since}))
    pipeline = [{"$match": match}, {"$group": {"_id": "$team_id", "n": {"$sum": 1}}}]
    return {row["_id"]: int(row["n"]) for row in mongo.collection(RoutingAudit).aggregate(pipeline)}
