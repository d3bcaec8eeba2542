"""What the accounts app tells connected sockets. Publishing only wakes clients up;
the database is the record. Group names: ``user.<id>`` for every socket of a user,
``session.<digest>`` for the sockets of one login session."""

from __future__ import annotations

import hashlib
from typing import Any

from chat_project import fanout

PRESENCE_STAFF_GROUP = "presence"
PRESENCE_AGENTS_GROUP = "presence.agents"


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def publish(group: str, message: dict[str, Any]) -> None:
    fanout.publish(group, message)


def session_ended(session_key: str) -> None:
    publish(session_group(session_key), {"type": "auth.revoked", "reason": "logout"})


def user_credentials_changed(user_id: object) -> None:
    publish(user_group(user_id), {"type": "auth.revoked", "reason": "password_changed"})


def user_status_changed(*, user, online: bool) -> None:
    """A manual status or accepting-chats change: staff hear everyone's (group
    ``presence``), customers hear agents' (``presence.agents``), as in chat.liveness."""
    message = {
        "type": "presence.changed",
        "user_id": str(user.pk),
        "role": user.role,
        "status": user.status,
        "online": online,
        "accepting_chats": user.accepting_chats if user.is_agent else None,
    }
    publish(PRESENCE_STAFF_GROUP, message)
    if user.is_agent:
        publish(PRESENCE_AGENTS_GROUP, message)
