"""Reads of users and agents shared by the API, the gateway and routing."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId

from accounts import presence
from accounts.models import Role, User


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


def user_is_online(user: User) -> bool:
    return presence.is_online(str(user.pk))
