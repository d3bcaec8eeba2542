"""The gateway's rooms (``ChatConsumer`` mixes these in): joining (subscribe first, then
read), leaving, ``sync`` after a reconnect, and repairing what the live stream skipped;
what each socket has sent of each room is a :class:`chat.gateway.delivery.RoomCursor`."""

from __future__ import annotations

import logging
import time
from typing import Any

from bson import ObjectId
from django.conf import settings

from chat import async_services, render
from chat.events import room_group
from chat.gateway import delivery
from chat.gateway.delivery import RoomCursor
from chat_project.errors import DomainError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)


def room_id_from_wire(value: str) -> str:
    """A room id as the services publish it (lowercase ObjectId hex). Anything else is
    an unknown room (and never becomes a channel-layer group name)."""
    if not ObjectId.is_valid(value):
        raise NotFound("No such room.")
    return value.lower()


class RoomHandlers:
    """Needs from the consumer: ``user``, ``user_id``, ``rooms``, ``timers``,
    ``closing``, ``_group_add`` / ``_group_discard``, ``send_event`` / ``send_error``,
    ``send_event_in_parts``, ``_publish_ephemeral``, ``_typing_stopped`` and
    ``_flush_receipts``."""

    async def join_room(self, data: dict[str, Any]) -> dict[str, Any]:
        room_id = room_id_from_wire(data["room_id"])
        self._check_room_cap([room_id])
        history = await self._subscribe_and_read(room_id, data.get("after_seq"))
        await self._send_history(history)
        self._publish_ephemeral(
            room_id, render.user_joined_room(room_id=room_id, user=self.user, joined=True)
        )
        return {"room_id": room_id, "last_seq": history["last_seq"]}

    async def leave_room(self, data: dict[str, Any]) -> dict[str, Any]:
        room_id = data["room_id"].lower()
        if room_id in self.rooms:
            await self._typing_stopped(room_id)
            await self._drop_room(room_id)
            self._publish_ephemeral(
                room_id, render.user_joined_room(room_id=room_id, user=self.user, joined=False)
            )
        return {"room_id": room_id}

    async def sync(self, data: dict[str, Any]) -> dict[str, Any]:
        """``{rooms: {room_id: last_seq}}``: replay each room after its cursor (as a
        ``chat-history`` with ``events``) and stay subscribed. A room that cannot be
        replayed gets its own ``error`` (``resync_required`` / ``not_found``, with
        ``details.room_id``) and is listed under ``failed`` in the ack."""
        malformed = [r for r in data["rooms"] if not ObjectId.is_valid(r)]
        cursors: dict[str, int] = {
            r.lower(): seq for r, seq in data["rooms"].items() if r not in malformed
        }
        self._check_room_cap(list(cursors))
        new = [r for r in cursors if r not in self.rooms]
        for room_id in new:
            await self._group_add(room_group(room_id))
        results = await async_services.rooms_replay(
            user=self.user, cursors=cursors, max_events=settings.WS_REPLAY_MAX_EVENTS
        )
        synced: dict[str, Any] = {}
        failed: dict[str, str] = {}
        results.update({r: NotFound("No such room.") for r in malformed})
        for room_id, result in results.items():
            if isinstance(result, DomainError):
                failed[room_id] = str(result.code)
                if room_id in new:  # a room joined before stays joined as it was
                    await self._group_discard(room_group(room_id))
                result.details = {**result.details, "room_id": room_id}
                await self.send_error(None, "sync", result)
                continue
            self._set_cursor(room_id, self._cursor_after_replay(result, cursors[room_id]))
            await self._send_history(result)
            synced[room_id] = {"last_seq": result["last_seq"], "events": len(result["events"])}
        return {"rooms": synced, "failed": failed}

    async def follow_rooms(self, room_ids: list[str]) -> None:
        """Follow rooms live from now on without replaying them (a namespace that joins
        a user's rooms at connect: ``compat``): subscribe first, then read the rooms'
        seqs, as a join does; rooms this user may not see are left out."""
        new = [r.lower() for r in room_ids if r.lower() not in self.rooms]
        new = new[: max(0, settings.WS_MAX_ROOMS_PER_SOCKET - len(self.rooms))]
        for room_id in new:
            await self._group_add(room_group(room_id))
        seqs = await async_services.rooms_last_seq(user=self.user, room_ids=new)
        for room_id in new:
            if room_id not in seqs:
                await self._group_discard(room_group(room_id))
                continue
            page = {"messages": [], "last_seq": seqs[room_id]}
            cursor = delivery.cursor_after_page(
                page, now=time.monotonic(), max_gap=settings.WS_REPLAY_MAX_EVENTS
            )
            self._set_cursor(room_id, cursor)

    async def _send_history(self, history: dict[str, Any]) -> None:
        """``chat-history``, in several frames when a long replay or a page of long
        messages exceeds the transport's limit (``EventConsumer.send_event_in_parts``):
        each part carries ``last_seq`` up to what it holds and ``more: true`` except
        the last, which has the room's ``last_seq`` and the watermarks; a client applies
        each part as it would one frame."""
        key = "events" if isinstance(history.get("events"), list) else "messages"

        def part_of(base: dict[str, Any], items: list[Any], last: bool) -> dict[str, Any]:
            if last:
                return {**history, key: items, "more": False}
            seqs = [(i.get("data") or i).get("seq") or 0 for i in items]
            return {**base, key: items, "last_seq": max(seqs), "more": True}

        await self.send_event_in_parts(
            "chat-history", history, key, part_of, keep_whole=("watermarks", "last_seq")
        )

    async def _subscribe_and_read(self, room_id: str, after_seq: int | None) -> dict[str, Any]:
        was_joined = room_id in self.rooms
        if not was_joined:
            await self._group_add(room_group(room_id))  # first: nothing published after
        try:  # the read below can be missed
            history = await async_services.room_join(
                room_id=room_id,
                user=self.user,
                after_seq=after_seq,
                max_events=settings.WS_REPLAY_MAX_EVENTS,
            )
        except BaseException:
            if not was_joined:
                await self._group_discard(room_group(room_id))
                self.rooms.pop(room_id, None)
            raise
        if after_seq is None:
            cursor = delivery.cursor_after_page(
                history, now=time.monotonic(), max_gap=settings.WS_REPLAY_MAX_EVENTS
            )
        else:
            cursor = self._cursor_after_replay(history, after_seq)
        self._set_cursor(room_id, cursor)
        return history

    @staticmethod
    def _cursor_after_replay(replay: dict[str, Any], after_seq: int) -> RoomCursor:
        return delivery.cursor_after_replay(
            replay, after_seq, now=time.monotonic(), max_gap=settings.WS_REPLAY_MAX_EVENTS
        )

    def _set_cursor(self, room_id: str, cursor: RoomCursor) -> None:
        # A re-join or sync starts from what was just read; pending receipts stay.
        self.timers.cancel(("repair", room_id))
        self.rooms[room_id] = cursor
        self._schedule_repair(room_id, cursor)

    def _schedule_repair(self, room_id: str, cursor: RoomCursor) -> None:
        if cursor.gaps and not self.closing:
            self.timers.start(
                ("repair", room_id),
                settings.WS_GAP_REPAIR_SECONDS,
                lambda: self._repair_gap(room_id),
                restart=False,
            )

    async def _drop_room(self, room_id: str) -> None:
        if self.rooms.pop(room_id, None) is not None:
            self.timers.cancel(("repair", room_id))
            await self._flush_receipts(room_id)  # sent before leaving: still due
        self.typing_cancelled(room_id)
        self.timers.cancel(("typing", room_id))
        await self._group_discard(room_group(room_id))

    def _check_room_cap(self, room_ids: list[str]) -> None:
        if len(self.rooms.keys() | set(room_ids)) > settings.WS_MAX_ROOMS_PER_SOCKET:
            raise ValidationFailed(
                f"At most {settings.WS_MAX_ROOMS_PER_SOCKET} rooms per socket; leave one first."
            )

    async def _repair_gap(self, room_id: str) -> None:
        """Seqs skipped by the live stream did not arrive: send them from the database
        (the layer is at-most-once)."""
        cursor = self.rooms.get(room_id)
        if cursor is None or not cursor.gaps or self.closing:
            return
        try:
            replay = await async_services.room_replay(
                room_id=room_id,
                user=self.user,
                after_seq=min(cursor.gaps) - 1,
                max_events=settings.WS_REPLAY_MAX_EVENTS,
            )
        except DomainError as exc:  # access gone, or too far behind: the client resyncs
            if self.rooms.get(room_id) is cursor:
                await self._drop_room(room_id)
                exc.details = {**exc.details, "room_id": room_id}
                await self.send_error(None, None, exc)
            return
        except Exception:
            logger.warning("gap repair of room %s failed", room_id, exc_info=True)
            return
        if self.rooms.get(room_id) is not cursor:
            return  # left or re-joined meanwhile
        for item in cursor.repair(replay["events"], now=time.monotonic()):
            await self.send_event(item["event"], item["data"])
