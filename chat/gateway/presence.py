"""The gateway's presence events (functions of the socket and the frame's data, listed in
``ChatConsumer.events``): an agent's status, who is online (by the visibility rule
below), and ``user-status-changed`` as the presence groups announce it
(``accounts.liveness``; its data rendered by ``accounts.events``)."""

from __future__ import annotations

from typing import Any

from accounts import async_services as accounts_async
from accounts import presence
from accounts.events import USER_STATUS_CHANGED, status_changed_data
from chat import render


async def agent_status_update(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    user = await accounts_async.agent_status_update(
        user=sock.user, status=data["status"], accepting_chats=data.get("accepting_chats")
    )
    return {"status": user.status, "accepting_chats": user.accepting_chats}


async def get_online_users(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``online-users`` to the caller. Visibility rule: agents and admins see every
    online user (customers, agents, admins); a customer sees only the online agents
    (never other customers). Online = a live presence lease (any socket, any process,
    within the disconnect grace period)."""
    users = await accounts_async.online_users(
        user_ids=await presence.aonline_user_ids(), agents_only=sock.audience not in render.STAFF
    )
    await sock.send_event("online-users", {"users": users})
    return {"count": len(users)}


async def get_online_agents(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``online-agents`` to the caller: every signed-in user may see which agents are
    online (as ``GET /api/auth/agents/online``), with ``accepting_chats``,
    ``active_chats`` and ``max_chats``."""
    agents = await accounts_async.online_users(
        user_ids=await presence.aonline_user_ids(), agents_only=True
    )
    await sock.send_event("online-agents", {"agents": agents})
    return {"count": len(agents)}


async def presence_changed(sock: Any, message: dict[str, Any]) -> None:
    await sock.send_event(USER_STATUS_CHANGED, status_changed_data(message))
