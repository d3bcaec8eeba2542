"""The reference backend's shapes, translated from the product's: rooms, messages, users,
sessions and the admin figures, as the reference frontend reads them (the README's
"Coming from the reference backend" lists them).

Every function takes what a product selector, service or ``chat.render`` gave and
renames, nests and derives; none reads a store, decides what a viewer may see or holds a
rule (the product's answers already are for their viewer). Presence comes in as the set
of online user ids the caller read.
"""

from __future__ import annotations

from typing import Any

# The reference's room status for the product's: a queued room is "pending".
ROOM_STATUS = {"queued": "pending", "active": "active", "closed": "closed"}
PRIORITY = "medium"  # the reference's default; the product has no priorities


SUBJECT_MAX = 200  # chat.services.SUBJECT_MAX


def subject_of(description: str) -> str:
    """A room subject from the reference's free-text description: its first line, cut
    with an ellipsis where it is longer than a subject."""
    first = description.strip().splitlines()[0].strip() if description.strip() else ""
    return first if len(first) <= SUBJECT_MAX else first[: SUBJECT_MAX - 1].rstrip() + "…"


def _latest(*stamps: str | None) -> str | None:
    """The newest of ISO 8601 UTC times of one format (they sort as text)."""
    present = [stamp for stamp in stamps if stamp]
    return max(present) if present else None


def participant(
    brief: dict[str, Any] | None,
    *,
    online: set[str],
    emails: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """A user inside a room (``dtos.user_brief``): ``{_id, username, role, status,
    isOnline}``, with ``email`` where the caller may see it (``emails``)."""
    if brief is None:
        return None
    is_online = brief["id"] in online
    shown = {
        "_id": brief["id"],
        "username": brief["username"],
        "displayName": brief.get("display_name") or brief["username"],
        "role": brief["role"],
        "status": "online" if is_online else "offline",
        "isOnline": is_online,
    }
    if emails and brief["id"] in emails:
        shown["email"] = emails[brief["id"]]
    return shown


def message(shown: dict[str, Any], *, emails: dict[str, str] | None = None) -> dict[str, Any]:
    """A message as ``chat.render.message`` shows it to the caller."""
    sender = shown.get("sender") or {}
    sender_doc = {
        "_id": sender.get("id"),
        "username": sender.get("username"),
        "role": sender.get("role"),
    }
    if emails and sender.get("id") in emails:
        sender_doc["email"] = emails[sender["id"]]
    return {
        "_id": shown["id"],
        "chatRoomId": shown["room_id"],
        "senderId": sender_doc,
        "content": shown["text"],
        "messageType": "text",
        "status": shown.get("status") or "sent",
        "readBy": [],
        "deliveredTo": [],
        "isEdited": shown.get("edited_at") is not None,
        "editedAt": shown.get("edited_at"),
        "isDeleted": bool(shown.get("deleted")),
        "attachments": shown.get("attachments") or [],
        "metadata": {},
        "createdAt": shown["created_at"],
        "updatedAt": shown.get("edited_at") or shown["created_at"],
    }


def sender(shown: dict[str, Any]) -> dict[str, Any]:
    """``new-message``'s ``sender``: ``{id, username, role}``."""
    brief = shown.get("sender") or {}
    return {"id": brief.get("id"), "username": brief.get("username"), "role": brief.get("role")}


def last_message(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A room's ``last_message`` (the product's summary) as the reference's populated
    ``lastMessage``; None when the room has none."""
    if not summary:
        return None
    return {
        "_id": summary["id"],
        "content": summary["text"],
        "messageType": "text",
        "senderId": summary.get("sender_id"),
        "createdAt": summary["created_at"],
    }


def room(
    shown: dict[str, Any], *, online: set[str], emails: dict[str, str] | None = None
) -> dict[str, Any]:
    """A room as the product shows it to the caller (``chat.render.room``)."""
    customer = participant(shown.get("customer"), online=online, emails=emails)
    agent = participant(shown.get("agent"), online=online, emails=emails)
    latest = last_message(shown.get("last_message"))
    activity = _latest(
        shown.get("created_at"),
        shown.get("queued_at"),
        shown.get("assigned_at"),
        shown.get("closed_at"),
        latest["createdAt"] if latest else None,
    )
    # A waiting room that had an agent was taken back from one (a removal, a requeue).
    history = []
    if shown.get("status") == "queued" and shown.get("assigned_at"):
        history.append(
            {"fromAgent": None, "toAgent": None, "transferredAt": shown.get("queued_at")}
        )
    doc = {
        "_id": shown["id"],
        "type": "support",
        "status": ROOM_STATUS.get(shown.get("status"), shown.get("status")),
        "participants": [p for p in (customer, agent) if p is not None],
        "assignedAgent": agent,
        "createdBy": (shown.get("customer") or {}).get("id"),
        "lastActivity": activity,
        "isActive": shown.get("status") != "closed",
        "metadata": {
            "subject": shown.get("subject") or "",
            "priority": PRIORITY,
            "tags": list(shown.get("tags") or []),
        },
        "transferHistory": history,
        "createdAt": shown.get("created_at"),
        "updatedAt": activity,
    }
    if latest is not None:
        doc["lastMessage"] = latest
    if shown.get("queue_position") is not None:
        doc["queuePosition"] = shown["queue_position"]
    return doc


def user(shown: dict[str, Any]) -> dict[str, Any]:
    """A user as the product's user shape shows it (``accounts``: ``{id, username,
    email?, display_name, role, status, online?, last_seen_at?, date_joined?}``)."""
    online = bool(shown.get("online"))
    doc = {
        "_id": shown["id"],
        "username": shown["username"],
        "displayName": shown.get("display_name") or shown["username"],
        "role": shown["role"],
        "status": shown.get("status") if online else "offline",
        "isOnline": online,
        "assignedChats": [],
        "specialization": "",
        "createdAt": shown.get("date_joined"),
        "updatedAt": shown.get("last_seen_at") or shown.get("date_joined"),
    }
    if "email" in shown:
        doc["email"] = shown["email"]
    if shown.get("last_seen_at"):
        doc["lastSeen"] = shown["last_seen_at"]
    return doc


def session(shown: dict[str, Any], *, session_id: str, last_activity: str) -> dict[str, Any]:
    """The reference's session object: the signed-in user and the session's key."""
    return {
        "userId": shown["id"],
        "username": shown["username"],
        "email": shown.get("email") or "",
        "role": shown["role"],
        "status": shown.get("status") or "online",
        "sessionId": session_id,
        "createdAt": shown.get("date_joined"),
        "lastActivity": last_activity,
    }


def online_user(shown: dict[str, Any]) -> dict[str, Any]:
    """An item of ``online-users`` (a public presence dict of the product)."""
    return {
        "userId": shown["id"],
        "username": shown["username"],
        "role": shown["role"],
        "socketId": shown["id"],  # one entry per user: the id keys the list
    }


def online_agent(shown: dict[str, Any]) -> dict[str, Any]:
    """An item of ``online-agents`` (a public presence dict of the product)."""
    return {
        "_id": shown["id"],
        "username": shown["username"],
        "role": shown["role"],
        "status": shown.get("manual_status") or shown.get("status") or "online",
        "isOnline": True,
        "acceptingChats": shown.get("accepting_chats"),
        "activeChats": shown.get("active_chats"),
        "maxChats": shown.get("max_chats"),
    }


def workload(agent: dict[str, Any], rooms: list[dict[str, Any]]) -> dict[str, Any]:
    """``/admin/agent-workloads``: an agent (the product's agent list item) and the
    rooms the product shows as theirs."""
    active = int(agent.get("active_chats") or 0)
    capacity = int(agent.get("max_chats") or 0)
    return {
        "_id": agent["id"],
        "username": agent["username"],
        "email": agent.get("email", ""),
        "specialization": "",
        "isOnline": bool(agent.get("online")),
        "status": agent.get("status"),
        "activeChatsCount": active,
        "maxChats": capacity,
        "workloadPercentage": round(100.0 * active / capacity, 1) if capacity else 0.0,
        "assignedChats": [
            {
                "_id": r["id"],
                "type": "support",
                "status": ROOM_STATUS.get(r.get("status"), r.get("status")),
                "lastActivity": _latest(r.get("assigned_at"), r.get("created_at")),
                "metadata": {"subject": r.get("subject") or "", "priority": PRIORITY},
            }
            for r in rooms
        ],
    }
