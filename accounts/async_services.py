"""The accounts app's one ``database_sync_to_async`` boundary: what the WebSocket gateway
needs from accounts, one thread hop per use case (STYLE.md). Presence itself is Redis
only and has async functions of its own (``accounts.presence``)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from channels.db import database_sync_to_async

from accounts import services
from accounts.models import Role, User
from chat_project.errors import PermissionDenied


def _public_user(user: User, *, online: bool) -> dict[str, Any]:
    """What one signed-in user may see of another on the socket (no email)."""
    data: dict[str, Any] = {
        "id": str(user.pk),
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "status": user.status if online else "offline",
        "manual_status": user.status,
        "online": online,
    }
    if user.is_agent:
        data.update(
            accepting_chats=user.accepting_chats,
            active_chats=user.active_chats,
            max_chats=user.max_chats,
        )
    return data


def _agent_status_update(*, user: User, status: str, accepting_chats: bool | None) -> User:
    if not user.is_agent:
        raise PermissionDenied("Only agents set their status over the socket.")
    return services.user_set_status(user=user, status=status, accepting_chats=accepting_chats)


def _online_users(*, user_ids: set[str], agents_only: bool) -> list[dict[str, Any]]:
    """The given (online) users who are active, as public dicts, by username."""
    ids = [ObjectId(i) for i in user_ids if ObjectId.is_valid(i)]
    if not ids:
        return []
    users = User.objects.filter(pk__in=ids, is_active=True)
    if agents_only:
        users = users.filter(role=Role.AGENT)
    return [_public_user(u, online=True) for u in users.order_by("username")]


agent_status_update = database_sync_to_async(_agent_status_update)
online_users = database_sync_to_async(_online_users)
