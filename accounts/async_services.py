"""The accounts app's one ``database_sync_to_async`` boundary: what the WebSocket gateway
needs from accounts, one thread hop per use case (STYLE.md). Presence itself is Redis
only and has async functions of its own (``accounts.presence``)."""

from __future__ import annotations

import contextvars
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.contrib.auth import get_user

from accounts import services, visibility
from accounts.models import Role, User
from chat_project.errors import PermissionDenied
from chat_project.hops import database_hop
from chat_project.patches.django_caches import use_thread_cache


def _public_user(user: User, *, online: bool) -> dict[str, Any]:
    """A user in a presence frame: the public fields (``accounts.visibility``)."""
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
    return visibility.visible_to(data, viewer=None, subject=user)


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


def _socket_user(*, session_key: str) -> User | None:
    """The active user signed in with ``session_key`` (Django's own session checks:
    the auth backend, the password-bound session hash), or None.

    Runs in a copy of the caller's context, dropped afterwards: ``sync_to_async`` copies
    what the function leaves in context variables back into the socket's task, and
    Django keeps its cache handles in them, so each socket kept a cache client of its
    own (~17 KB; issue 8, scenario 1). The session store is not kept either."""
    return contextvars.copy_context().run(_load_socket_user, session_key)


def _load_socket_user(session_key: str) -> User | None:
    # One cache client per thread, as Django keeps them outside an event loop, rather
    # than a new client per handshake in the throwaway context.
    use_thread_cache(settings.SESSION_CACHE_ALIAS)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # reads request.session only
    return user if user.is_authenticated and user.is_active else None


agent_status_update = database_hop(_agent_status_update)
online_users = database_hop(_online_users)
# Not thread-sensitive (as chat's hops): handshakes run on pool threads, each with its
# own Django connection, instead of queueing behind every other socket's database work
# on the process's single thread (at 100 connects/s that queue was what refused them).
socket_user = database_hop(_socket_user)
