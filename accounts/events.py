"""What the accounts app tells connected sockets. Publishing only wakes clients up;
the database is the record. Group ``user.<id>``: every socket of a user; an event for
the sockets of one login session goes there too, naming the session by its digest."""

from __future__ import annotations

import hashlib
from typing import Any

from chat_project import fanout

PRESENCE_STAFF_GROUP = "presence"
PRESENCE_AGENTS_GROUP = "presence.agents"


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def session_digest(session_key: str) -> str:
    """What names a session on the channel layer (never the key itself)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:40]


def publish(group: str, message: dict[str, Any]) -> None:
    fanout.publish(group, message)


def session_ended(*, user_id: object, session_key: str) -> None:
    """Logout: that session's sockets close (the user's other sessions stay)."""
    message = {"type": "auth.revoked", "reason": "logout", "session": session_digest(session_key)}
    publish(user_group(user_id), message)


def user_access_changed(*, user_id: object, reason: str) -> None:
    """Deactivation, a role change or a password change: every socket of the user, on
    every process, closes with 4401 (a message without ``session``). A reconnect is
    authenticated afresh: refused for an inactive account or a changed password (the
    session hash), with the new role otherwise."""
    publish(user_group(user_id), {"type": "auth.revoked", "reason": reason})


def user_credentials_changed(user_id: object) -> None:
    user_access_changed(user_id=user_id, reason="password_changed")


USER_STATUS_CHANGED = "user-status-changed"


def presence_message(
    *, user_id: object, role: str, status: str, online: bool, accepting_chats: bool | None
) -> dict[str, Any]:
    """The ``presence.changed`` channel-layer message (one shape for every sender)."""
    return {
        "type": "presence.changed",
        "user_id": str(user_id),
        "role": role,
        "status": status,
        "online": online,
        "accepting_chats": accepting_chats,
    }


def status_message(user, *, online: bool) -> dict[str, Any]:
    """A ``presence.changed`` channel-layer message for ``user`` (a User)."""
    return presence_message(
        user_id=user.pk,
        role=user.role,
        status=user.status,
        online=online,
        accepting_chats=user.accepting_chats if user.is_agent else None,
    )


def status_changed_data(message: dict[str, Any]) -> dict[str, Any]:
    """``user-status-changed`` as a socket receives it, from a ``presence.changed``
    message: ``status`` is ``offline`` while not connected, ``manual_status`` what the
    person chose."""
    online = message.get("online")
    status = message.get("status")
    data: dict[str, Any] = {
        "user_id": message.get("user_id"),
        "status": "offline" if online is False else status,
        "manual_status": status if online is not False else None,
        "accepting_chats": message.get("accepting_chats"),
    }
    if online is not None:
        data["online"] = online
    if message.get("role"):
        data["role"] = message["role"]
    return data


def user_status_changed(*, user, online: bool) -> None:
    """A manual status or accepting-chats change: staff hear everyone's (group
    ``presence``), customers hear agents' (``presence.agents``), as in accounts.liveness."""
    message = status_message(user, online=online)
    publish(PRESENCE_STAFF_GROUP, message)
    if user.is_agent:
        publish(PRESENCE_AGENTS_GROUP, message)
