"""Reads of users and agents shared by the API, the gateway and routing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from accounts import presence
from accounts.models import Role, User, email_key
from chat_project import mongo


@dataclass(frozen=True)
class AgentSummary:
    user: User
    online: bool


def agent_list(*, online_only: bool) -> list[AgentSummary]:
    online_ids = presence.online_user_ids()
    agents = User.objects.filter(role=Role.AGENT, is_active=True).order_by("username")
    if online_only:
        agents = agents.filter(pk__in=[ObjectId(i) for i in online_ids if ObjectId.is_valid(i)])
    return [AgentSummary(user=a, online=str(a.pk) in online_ids) for a in agents]


@dataclass(frozen=True)
class UserPage:
    results: list[AgentSummary]  # each user with ``online``
    next_cursor: str | None  # the last username of this page when there is another


def user_page(*, role: str | None, status: str | None, after: str | None, limit: int) -> UserPage:
    """Every user (active or not) by username, ``limit`` at a time after the username
    ``after``; with ``role``, one read on the (role, username) index. One presence read."""
    users = User.objects.order_by("username")
    if role is not None:
        users = users.filter(role=role)
    if status is not None:
        users = users.filter(status=status)
    if after is not None:
        users = users.filter(username__gt=after)
    found = list(users[: limit + 1])
    online = presence.online_user_ids()
    page = [AgentSummary(user=u, online=str(u.pk) in online) for u in found[:limit]]
    return UserPage(
        results=page, next_cursor=page[-1].user.username if len(found) > limit else None
    )


def user_count() -> int:
    """Every account, whatever its role or state (one count)."""
    return User.objects.count()


def user_by_email(email: str) -> User | None:
    """The user with this address, whatever its case (``User.email_key``, unique), or
    None. One read, served by the unique index."""
    key = email_key(email)
    if key is None:
        return None
    return User.objects.filter(email_key=key).first()


def email_holder_pk(email: str) -> Any:
    """The id of the user holding this address (any case), or None."""
    key = email_key(email)
    if key is None:
        return None
    return User.objects.filter(email_key=key).values_list("pk", flat=True).first()


def user_is_online(user: User) -> bool:
    return presence.is_online(str(user.pk))


@dataclass(frozen=True)
class NameHolder:
    """Another user holding a name key: enough to tell which rule a clash breaks."""

    pk: ObjectId
    staff: bool
    username_keys: frozenset[str]
    display_name_keys: frozenset[str]


def users_holding_name_keys(keys: list[str]) -> list[NameHolder]:
    """Users with any of ``keys`` among their username or display-name keys
    (``accounts.names``): two flat reads, each served by its multikey index (the ORM
    would wrap the two fields' ``$or`` in one ``$and``, which the embedded server
    answers with a collection scan)."""
    if not keys:
        return []
    collection = mongo.collection(User)
    fields = {"role": 1, "username_keys": 1, "display_name_keys": 1}
    found: dict[Any, dict[str, Any]] = {}
    for field in ("username_keys", "display_name_keys"):
        for doc in collection.find({field: {"$in": keys}}, fields):
            found[doc["_id"]] = doc
    return [
        NameHolder(
            pk=doc["_id"],
            staff=doc.get("role") in (Role.AGENT.value, Role.ADMIN.value),
            username_keys=frozenset(doc.get("username_keys") or ()),
            display_name_keys=frozenset(doc.get("display_name_keys") or ()),
        )
        for doc in found.values()
    ]
