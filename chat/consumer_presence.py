"""The gateway's presence events (``ChatConsumer`` mixes these in): an agent's status,
who is online (by the visibility rule below), and ``user-status-changed`` as the
presence groups announce it (``accounts.liveness``)."""

from __future__ import annotations

from typing import Any

from accounts import async_services as accounts_async
from accounts import presence


class PresenceHandlers:
    """Needs from the consumer: ``user`` and ``send_event``."""

    async def agent_status_update(self, data: dict[str, Any]) -> dict[str, Any]:
        user = await accounts_async.agent_status_update(
            user=self.user, status=data["status"], accepting_chats=data.get("accepting_chats")
        )
        return {"status": user.status, "accepting_chats": user.accepting_chats}

    async def get_online_users(self, data: dict[str, Any]) -> dict[str, Any]:
        """``online-users`` to the caller. Visibility rule: agents and admins see every
        online user (customers, agents, admins); a customer sees only the online agents
        (never other customers). Online = a live presence lease (any socket, any process,
        within the disconnect grace period)."""
        users = await accounts_async.online_users(
            user_ids=await presence.aonline_user_ids(), agents_only=not self._is_staff()
        )
        await self.send_event("online-users", {"users": users})
        return {"count": len(users)}

    async def get_online_agents(self, data: dict[str, Any]) -> dict[str, Any]:
        """``online-agents`` to the caller: every signed-in user may see which agents are
        online (as ``GET /api/auth/agents/online``), with ``accepting_chats``,
        ``active_chats`` and ``max_chats``."""
        agents = await accounts_async.online_users(
            user_ids=await presence.aonline_user_ids(), agents_only=True
        )
        await self.send_event("online-agents", {"agents": agents})
        return {"count": len(agents)}

    def _is_staff(self) -> bool:
        return self.user.role in ("agent", "admin")

    async def presence_changed(self, message: dict[str, Any]) -> None:
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
        await self.send_event("user-status-changed", data)
