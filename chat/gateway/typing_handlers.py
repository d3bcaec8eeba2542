"""The gateway's typing indicators (``ChatConsumer`` mixes these in): Redis state only
(``chat.gateway.typing_state``: throttle, ttl, implied stop), a timer per room that ends the
indicator by itself, and ``user-typing`` to the room's other users (no seq: not
history).

A start is held for ``WS_TYPING_HOLD_SECONDS`` before anything happens: a stop, or a
message from this socket to the room, within that time cancels it, and nobody is told
either (an indicator on and off within a quarter of a second is a flicker nobody can
read). Clients send ``typing`` on, the message, ``typing`` off around most quick
replies: in the chat benchmark that was two Redis calls, two fan-outs and a frame per
message for nothing (docs/benchmarks.md, issue 29)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from chat import render
from chat.gateway import typing_state
from chat_project.errors import NotFound, PermissionDenied

logger = logging.getLogger(__name__)


class TypingHandlers:
    """Needs from the consumer: ``rooms``, ``timers``, ``user``, ``user_id`` and
    ``_publish_ephemeral``."""

    async def typing(self, data: dict[str, Any]) -> dict[str, Any]:
        """See ``chat.gateway.typing_state`` for the rules (throttle, ttl, implied stop)."""
        room_id = data["room_id"].lower()
        if room_id not in self.rooms:  # joined (and still allowed: room.access) only
            raise NotFound("Join the room first.")
        if self.user.is_admin:
            # Admins read every room and take part in none (issue 28: a customer saw an
            # admin "typing" in a room he had only opened): only participants type.
            raise PermissionDenied("Only the room's customer and its agent type here.")
        if not data["is_typing"]:
            await self._typing_stopped(room_id)
            return {"room_id": room_id}
        if self.timers.pending(("typing-hold", room_id)):
            return {"room_id": room_id}  # announced when the hold ends, if still typing
        hold = settings.WS_TYPING_HOLD_SECONDS
        if hold > 0 and not self.timers.pending(("typing", room_id)):
            self.timers.start(
                ("typing-hold", room_id), hold, lambda: self._typing_began(room_id), restart=False
            )
            return {"room_id": room_id}
        await self._typing_began(room_id)
        return {"room_id": room_id}

    def typing_cancelled(self, room_id: str) -> bool:
        """A start still on hold is forgotten (its stop or a message came within the
        hold): True when there was one."""
        return self.timers.cancel(("typing-hold", room_id))

    async def _typing_began(self, room_id: str) -> None:
        if room_id not in self.rooms:
            return  # left the room during the hold
        ttl = settings.WS_TYPING_TTL_SECONDS
        due = await typing_state.typing_start(
            room_id=room_id,
            user_id=self.user_id,
            ttl_seconds=ttl,
            throttle_seconds=settings.WS_TYPING_THROTTLE_SECONDS,
        )
        self.timers.start(
            ("typing", room_id), ttl, lambda: self._typing_timer_fired(room_id), restart=True
        )
        if due:
            await self._publish_typing(room_id, True)

    async def _typing_timer_fired(self, room_id: str) -> None:
        try:
            ended = await typing_state.typing_expire(
                room_id=room_id, user_id=self.user_id, ttl_seconds=settings.WS_TYPING_TTL_SECONDS
            )
            if ended:
                await self._publish_typing(room_id, False)
        except Exception:
            logger.warning("typing expiry failed", exc_info=True)

    async def _typing_stopped(self, room_id: str) -> None:
        if self.typing_cancelled(room_id):
            return  # nobody was told it began
        if not self.timers.cancel(("typing", room_id)):
            return  # this socket was not typing there
        try:
            if await typing_state.typing_stop(room_id=room_id, user_id=self.user_id):
                await self._publish_typing(room_id, False)
        except Exception:
            logger.warning("typing stop failed", exc_info=True)

    async def _publish_typing(self, room_id: str, is_typing: bool) -> None:
        ttl_ms = int(settings.WS_TYPING_TTL_SECONDS * 1000)
        rendered = render.user_typing(
            room_id=room_id, user=self.user, is_typing=is_typing, ttl_ms=ttl_ms
        )
        self._publish_ephemeral(room_id, rendered)
