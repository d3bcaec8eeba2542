"""``ChatConsumer`` at ``/ws/chat/``: the WebSocket half of the contract (README, "WebSocket
events"). It parses and authorises each frame and calls the same services as REST through
``chat.async_services`` / ``accounts.async_services`` (one thread hop per use case);
presence and typing are Redis only (no hop).

Delivery. The channel layer is at-most-once; MongoDB is the record. Every room event
carries ``room_id`` and ``seq``. A socket keeps, per joined room, a :class:`RoomCursor`:
the highest ``seq`` it has sent and the seqs at or below it that it has not sent yet.
Joining subscribes to ``room.<id>`` FIRST, then reads history (the latest page, or a
replay after ``after_seq``) and sets the cursor to the room's ``last_seq`` as read; live
events at or below it are dropped (they were in what was read), so there is no gap and
no duplicate between replay and live. Two refinements:

- a seq is taken a moment before its event is written (in the same round of the
  writer), so a read can miss a write that is in flight; recent seqs the read did not
  contain are remembered and forwarded if they arrive live;
- a live event that skips ahead (a lost fan-out, or concurrent writers publishing out of
  order) is forwarded at once and the skipped seqs become ``gaps``; if they have not
  arrived ``WS_GAP_REPAIR_SECONDS`` later, the socket reads them from the database.

So live delivery heals itself while a room is active; ``sync`` after a reconnect (or a
loss at the very end of a burst) replays whatever the client has not seen.

Authorisation happens on every frame: services check access on every call, and a
user who loses access to a room (``room.access``: transfer, close) is unsubscribed at
once, so they neither receive its events nor type into it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from django.conf import settings

from accounts import async_services as accounts_async
from accounts import presence
from accounts.events import session_digest, user_group
from chat import async_services, typing_state
from chat.liveness import AGENTS_GROUP, STAFF_GROUP, liveness, publish_status, status_message
from chat.receipt_batch import PendingReceipts
from chat_project import fanout
from chat_project.errors import DomainError, NotFound, ValidationFailed
from chat_project.ws import (
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_TOO_MANY_SOCKETS,
    AckLater,
    EventConsumer,
    EventSpec,
    Field,
)

logger = logging.getLogger(__name__)

ID = Field("str", max_length=64)
OPTIONAL_SEQ = Field("int", required=False)


# Reads can miss writes in flight among this many newest seqs (a writer holds a seq for
# the moment between its compare-and-set and its insert, in one round of the writer).
IN_FLIGHT_WINDOW = 100
# A missing seq not seen within this long (live or in the database) is a noop filler or
# a crashed writer's hole: forgotten.
MISSING_TTL_SECONDS = 10.0


def room_group(room_id: str) -> str:
    return f"room.{room_id}"


def _room_id(value: str) -> str:
    """A room id as the services publish it (lowercase ObjectId hex). Anything else is
    an unknown room (and never becomes a channel-layer group name)."""
    if not ObjectId.is_valid(value):
        raise NotFound("No such room.")
    return value.lower()


@dataclass(slots=True)
class RoomCursor:
    """What one socket has sent of one room: every seq up to ``seq`` except

    - ``gaps``: seqs the live stream skipped (lost or reordered fan-out) or a replay did
      not find (a write in flight); repaired from the database if they do not arrive;
    - ``unread``: recent seqs the latest-page read did not contain (events other than
      messages, or a message in flight); sent if they arrive live, never repaired.

    Both map a seq to when it was noticed; after ``MISSING_TTL_SECONDS`` it is forgotten
    (a noop filler or a crashed writer's hole never arrives)."""

    seq: int
    gaps: dict[int, float] = field(default_factory=dict)
    unread: dict[int, float] = field(default_factory=dict)
    repair: asyncio.TimerHandle | None = None
    receipts: PendingReceipts | None = None  # waiting to be written together

    def take(self, seq: int) -> bool:
        """Whether an event with ``seq`` is to be sent now (and note that it is)."""
        if seq <= self.seq:
            if self.gaps.pop(seq, None) is not None:
                return True
            return self.unread.pop(seq, None) is not None
        if seq > self.seq + 1:
            now = time.monotonic()
            for skipped in range(max(self.seq + 1, seq - settings.WS_REPLAY_MAX_EVENTS), seq):
                self.gaps[skipped] = now
        self.seq = seq
        return True

    def forget_stale(self) -> None:
        horizon = time.monotonic() - MISSING_TTL_SECONDS
        self.gaps = {s: t for s, t in self.gaps.items() if t > horizon}
        self.unread = {s: t for s, t in self.unread.items() if t > horizon}


def _recent_absent(last_seq: int, low_seq: int, seen: set[int]) -> dict[int, float]:
    now = time.monotonic()
    start = max(low_seq, last_seq - IN_FLIGHT_WINDOW) + 1
    return {s: now for s in range(start, last_seq + 1) if s not in seen}


def _cursor_after_page(page: dict[str, Any]) -> RoomCursor:
    seen = {m["seq"] for m in page["messages"]}
    return RoomCursor(seq=page["last_seq"], unread=_recent_absent(page["last_seq"], 0, seen))


def _cursor_after_replay(replay: dict[str, Any], after_seq: int) -> RoomCursor:
    seen = {item["data"]["seq"] for item in replay["events"]}
    return RoomCursor(
        seq=replay["last_seq"], gaps=_recent_absent(replay["last_seq"], after_seq, seen)
    )


class ChatConsumer(EventConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: Any = None
        self.user_id = ""
        self.conn_id = uuid.uuid4().hex
        self.groups_joined: set[str] = set()
        self.rooms: dict[str, RoomCursor] = {}  # the joined rooms
        self.typing_timers: dict[str, asyncio.TimerHandle] = {}
        self.live = False  # counted in presence and under the socket cap
        self.tasks: set[asyncio.Task] = set()

    # --- connection --------------------------------------------------------------------

    async def connect(self) -> None:
        user = self.scope.get("user")
        if (
            user is None
            or not user.is_authenticated
            or not user.is_active
            or not self.scope.get("session_key")
        ):
            await self.reject(CLOSE_NOT_AUTHENTICATED, "not authenticated")
            return
        self.user, self.user_id = user, str(user.pk)
        admitted, came_online = await presence.aconnection_open(
            user_id=self.user_id,
            conn_id=self.conn_id,
            role=user.role,
            ttl_seconds=settings.WS_PRESENCE_TTL_SECONDS,
            limit=settings.WS_MAX_SOCKETS_PER_USER,
        )
        if not admitted:
            await self.reject(CLOSE_TOO_MANY_SOCKETS, "too many sockets")
            return
        self.live = True
        # Logout reaches this session's sockets through the user group (auth_revoked
        # filters on the session): a group per session cost every socket a subscription.
        await self._group_add(user_group(self.user_id))
        # Who may see whose presence: staff everyone's, customers the agents'.
        await self._group_add(STAFF_GROUP if user.role in ("agent", "admin") else AGENTS_GROUP)
        await self.accept()
        liveness().add(user, self.conn_id)
        if came_online:
            await publish_status(status_message(user, online=True))

    async def disconnect(self, code: int) -> None:
        if self.live:
            self.live = False
            liveness().remove(self.conn_id)
            for room_id, cursor in list(self.rooms.items()):
                await self._typing_stopped(room_id)
                await self._flush_receipts(room_id, cursor)
            try:
                await presence.alease_release(
                    user_id=self.user_id,
                    conn_id=self.conn_id,
                    grace_seconds=settings.WS_PRESENCE_GRACE_SECONDS,
                )
            except Exception:  # the lease then simply runs out
                logger.warning("lease release failed", exc_info=True)
        for group in list(self.groups_joined):
            await self._group_discard(group)
        self.rooms.clear()

    async def _group_add(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def _group_discard(self, group: str) -> None:
        self.groups_joined.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    # --- rooms: join, leave, sync ------------------------------------------------------

    async def join_room(self, data: dict[str, Any]) -> dict[str, Any]:
        room_id = _room_id(data["room_id"])
        self._check_room_cap([room_id])
        history = await self._subscribe_and_read(room_id, data.get("after_seq"))
        await self._send_history(history)
        await self._publish_ephemeral(room_id, "user-joined-room", {"user": self._me()})
        return {"room_id": room_id, "last_seq": history["last_seq"]}

    async def leave_room(self, data: dict[str, Any]) -> dict[str, Any]:
        room_id = data["room_id"].lower()
        if room_id in self.rooms:
            await self._typing_stopped(room_id)
            await self._drop_room(room_id)
            await self._publish_ephemeral(room_id, "user-left-room", {"user": self._me()})
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
            self._set_cursor(room_id, _cursor_after_replay(result, cursors[room_id]))
            await self._send_history(result)
            synced[room_id] = {"last_seq": result["last_seq"], "events": len(result["events"])}
        return {"rooms": synced, "failed": failed}

    async def _send_history(self, history: dict[str, Any]) -> None:
        """``chat-history`` in frames that fit the transport's limit (Autobahn applies
        it to outgoing messages too): a long replay or a page of long messages goes as
        several frames in seq order. Each carries ``last_seq`` up to what it holds and
        ``more: true`` except the last, which has the room's ``last_seq`` and the
        watermarks; a client applies each frame as it would one."""
        key = "events" if isinstance(history.get("events"), list) else "messages"
        items = history.get(key)
        budget = settings.WS_TRANSPORT_MAX_BYTES - 8 * 1024
        if not isinstance(items, list) or len(await self.encode_json(history)) <= budget:
            await self.send_event("chat-history", history)
            return
        chunks: list[list[Any]] = [[]]
        size = 0
        for item in items:
            item_size = len(await self.encode_json(item)) + 1
            if chunks[-1] and size + item_size > budget:
                chunks.append([])
                size = 0
            chunks[-1].append(item)
            size += item_size
        base = {k: v for k, v in history.items() if k not in (key, "watermarks", "last_seq")}
        for chunk in chunks[:-1]:
            seqs = [(i.get("data") or i).get("seq") or 0 for i in chunk]
            await self.send_event(
                "chat-history", {**base, key: chunk, "last_seq": max(seqs), "more": True}
            )
        await self.send_event("chat-history", {**history, key: chunks[-1], "more": False})

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
            self._set_cursor(room_id, _cursor_after_page(history))
        else:
            self._set_cursor(room_id, _cursor_after_replay(history, after_seq))
        return history

    def _set_cursor(self, room_id: str, cursor: RoomCursor) -> None:
        old = self.rooms.get(room_id)
        if old is not None:  # a re-join or sync: keep what the socket already knows
            if old.repair is not None:
                old.repair.cancel()
            cursor.receipts = old.receipts  # their timer finds them on the new cursor
        self.rooms[room_id] = cursor
        self._schedule_repair(room_id, cursor)

    def _schedule_repair(self, room_id: str, cursor: RoomCursor) -> None:
        if cursor.gaps and cursor.repair is None and not self.closing:
            cursor.repair = asyncio.get_running_loop().call_later(
                settings.WS_GAP_REPAIR_SECONDS, self._on_repair_timer, room_id
            )

    async def _drop_room(self, room_id: str) -> None:
        cursor = self.rooms.pop(room_id, None)
        if cursor is not None and cursor.repair is not None:
            cursor.repair.cancel()
        if cursor is not None:
            await self._flush_receipts(room_id, cursor)  # sent before leaving: still due
        handle = self.typing_timers.pop(room_id, None)
        if handle is not None:
            handle.cancel()
        await self._group_discard(room_group(room_id))

    def _check_room_cap(self, room_ids: list[str]) -> None:
        if len(self.rooms.keys() | set(room_ids)) > settings.WS_MAX_ROOMS_PER_SOCKET:
            raise ValidationFailed(
                f"At most {settings.WS_MAX_ROOMS_PER_SOCKET} rooms per socket; leave one first."
            )

    # --- messages and receipts ---------------------------------------------------------

    async def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ack ``{message}`` once the write is durable. The seq this socket has seen of
        the room (if it follows it) saves the writer a read; nothing else differs from
        a REST send."""
        cursor = self.rooms.get(data["room_id"].lower())
        message = await async_services.message_send(
            room_id=data["room_id"],
            sender=self.user,
            client_msg_id=data["client_msg_id"],
            text=data["text"],
            attachment_ids=tuple(data.get("attachment_ids") or ()),
            known_seq=cursor.seq if cursor is not None else None,
        )
        return {"message": message}

    async def edit_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ack ``{room_id, seq, message}``; ``message-updated`` to the room."""
        return await async_services.message_edit(
            room_id=data["room_id"],
            message_id=data["message_id"],
            actor=self.user,
            text=data["text"],
        )

    async def delete_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ack ``{room_id, message_id, seq}``; ``message-deleted`` to the room."""
        return await async_services.message_delete(
            room_id=data["room_id"], message_id=data["message_id"], actor=self.user
        )

    async def message_delivered(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._receipt(data, "delivered")

    async def message_read(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._receipt(data, "read")

    async def _receipt(self, data: dict[str, Any], kind: str) -> dict[str, Any] | AckLater:
        if (data.get("up_to_seq") is None) == (data.get("message_id") is None):
            raise ValidationFailed(
                "Give either up_to_seq or message_id.",
                details={"fields": {"up_to_seq": ["Either this or message_id."]}},
            )
        room_id = data["room_id"].lower()
        cursor = self.rooms.get(room_id)
        if cursor is not None and data.get("up_to_seq") is not None:
            # See chat.receipt_batch: merged with this room's other receipts for a
            # moment, then written as one receipt.
            delay = settings.WS_RECEIPT_COALESCE_SECONDS
            if cursor.receipts is None:
                cursor.receipts = PendingReceipts()
                if delay > 0:
                    cursor.receipts.timer = asyncio.get_running_loop().call_later(
                        delay, self._on_receipt_timer, room_id
                    )
            waiter = cursor.receipts.add(kind, data["up_to_seq"])
            if delay <= 0:
                await self._flush_receipts(room_id, cursor)
            return AckLater(waiter)
        return await async_services.receipt_advance(
            room_id=data["room_id"],
            user=self.user,
            kind=kind,
            up_to_seq=data.get("up_to_seq"),
            message_id=data.get("message_id"),
        )

    def _on_receipt_timer(self, room_id: str) -> None:
        cursor = self.rooms.get(room_id)
        if cursor is None:
            return
        task = asyncio.get_running_loop().create_task(self._flush_receipts(room_id, cursor))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _flush_receipts(self, room_id: str, cursor: RoomCursor) -> None:
        """Write a room's pending receipts as one and answer each of them."""
        pending, cursor.receipts = cursor.receipts, None
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        try:
            answer = await async_services.receipt_marks_advance(
                room_id=room_id, user=self.user, delivered=pending.delivered, read=pending.read
            )
        except Exception as exc:  # each receipt gets the error frame (ws.AckLater)
            pending.fail(exc)
            return
        pending.resolve(answer)

    # --- typing ------------------------------------------------------------------------

    async def typing(self, data: dict[str, Any]) -> dict[str, Any]:
        """See ``chat.typing_state`` for the rules (throttle, ttl, implied stop)."""
        room_id = data["room_id"].lower()
        if room_id not in self.rooms:  # joined (and still allowed: room.access) only
            raise NotFound("Join the room first.")
        if not data["is_typing"]:
            await self._typing_stopped(room_id)
            return {"room_id": room_id}
        ttl = settings.WS_TYPING_TTL_SECONDS
        due = await typing_state.typing_start(
            room_id=room_id,
            user_id=self.user_id,
            ttl_seconds=ttl,
            throttle_seconds=settings.WS_TYPING_THROTTLE_SECONDS,
        )
        old = self.typing_timers.pop(room_id, None)
        if old is not None:
            old.cancel()
        self.typing_timers[room_id] = asyncio.get_running_loop().call_later(
            ttl, self._on_typing_timer, room_id
        )
        if due:
            await self._publish_typing(room_id, True)
        return {"room_id": room_id}

    def _on_typing_timer(self, room_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._typing_timer_fired(room_id))
        self.tasks.add(task)  # a strong reference until it is done
        task.add_done_callback(self.tasks.discard)

    async def _typing_timer_fired(self, room_id: str) -> None:
        self.typing_timers.pop(room_id, None)
        try:
            ended = await typing_state.typing_expire(
                room_id=room_id, user_id=self.user_id, ttl_seconds=settings.WS_TYPING_TTL_SECONDS
            )
            if ended:
                await self._publish_typing(room_id, False)
        except Exception:
            logger.warning("typing expiry failed", exc_info=True)

    async def _typing_stopped(self, room_id: str) -> None:
        handle = self.typing_timers.pop(room_id, None)
        if handle is None:
            return  # this socket was not typing there
        handle.cancel()
        try:
            if await typing_state.typing_stop(room_id=room_id, user_id=self.user_id):
                await self._publish_typing(room_id, False)
        except Exception:
            logger.warning("typing stop failed", exc_info=True)

    async def _publish_typing(self, room_id: str, is_typing: bool) -> None:
        data: dict[str, Any] = {
            "user_id": self.user_id,
            "username": self.user.username,
            "is_typing": is_typing,
        }
        if is_typing:
            data["ttl_ms"] = int(settings.WS_TYPING_TTL_SECONDS * 1000)
        await self._publish_ephemeral(room_id, "user-typing", data)

    async def _publish_ephemeral(self, room_id: str, event: str, data: dict[str, Any]) -> None:
        """A room event that is not part of the history (no seq), to the other users."""
        message = {
            "type": "room.event",
            "room_id": room_id,
            "seq": None,
            "event": event,
            "data": {"room_id": room_id, **data},
            "exclude_user_id": self.user_id,
        }
        # Queued with the process's other fan-out (one Redis round trip per batch).
        fanout.publish_from_loop(room_group(room_id), message)

    # --- presence ------------------------------------------------------------------------

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

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "username": self.user.username,
            "display_name": self.user.display_name,
            "role": self.user.role,
        }

    # --- channel-layer messages --------------------------------------------------------

    async def room_event(self, message: dict[str, Any]) -> None:
        room_id = message.get("room_id")
        cursor = self.rooms.get(room_id)
        if cursor is None or message.get("exclude_user_id") == self.user_id:
            return
        seq = message.get("seq")
        if seq is not None:
            if not cursor.take(seq):
                return  # already sent (in a read, a replay or a repair)
            self._schedule_repair(room_id, cursor)
        data = message.get("data") or {}
        if data.get("room_id") != room_id or ("seq" not in data and seq is not None):
            data = {**data, "room_id": room_id, **({"seq": seq} if seq is not None else {})}
        await self.send_event(message["event"], data)

    def _on_repair_timer(self, room_id: str) -> None:
        cursor = self.rooms.get(room_id)
        if cursor is not None:
            cursor.repair = None
        task = asyncio.get_running_loop().create_task(self._repair_gap(room_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

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
        for item in replay["events"]:
            seq = item["data"]["seq"]
            # A gap, or beyond everything sent (the stream stopped early): send it.
            if cursor.gaps.pop(seq, None) is not None or (seq > cursor.seq and cursor.take(seq)):
                await self.send_event(item["event"], item["data"])
        # Gaps the database did not have either: a write in flight (sent if it arrives
        # live), a noop filler or a crashed writer's hole (forgotten after a while).
        cursor.unread.update(cursor.gaps)
        cursor.gaps.clear()
        cursor.forget_stale()

    async def room_access(self, message: dict[str, Any]) -> None:
        room_id = message.get("room_id")
        if room_id in self.rooms and self.user_id in (message.get("revoked_user_ids") or ()):
            await self._typing_stopped(room_id)
            await self._drop_room(room_id)

    async def user_event(self, message: dict[str, Any]) -> None:
        """A server event for every socket of one user (routing: ``room-assigned``,
        ``queue-updated``; group ``user.<id>``)."""
        await self.send_event(message["event"], message.get("data") or {})

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

    async def auth_revoked(self, message: dict[str, Any]) -> None:
        """Logout (the sockets of that session: ``session`` names it) or a password
        change (all the user's)."""
        session = message.get("session")
        if session is not None and session != session_digest(self.scope["session_key"]):
            return
        await self.close_socket(CLOSE_NOT_AUTHENTICATED, str(message.get("reason", "")))

    events = {
        "join-room": EventSpec(join_room, {"room_id": ID, "after_seq": OPTIONAL_SEQ}),
        "leave-room": EventSpec(leave_room, {"room_id": ID}),
        "send-message": EventSpec(
            send_message,
            {
                "room_id": ID,
                "client_msg_id": ID,
                "text": Field("str", max_length=100_000, allow_blank=True),
                "attachment_ids": Field("str_list", required=False, max_length=20),
            },
        ),
        "message-delivered": EventSpec(
            message_delivered,
            {
                "room_id": ID,
                "up_to_seq": OPTIONAL_SEQ,
                "message_id": Field("str", required=False, max_length=64),
            },
        ),
        "message-read": EventSpec(
            message_read,
            {
                "room_id": ID,
                "up_to_seq": OPTIONAL_SEQ,
                "message_id": Field("str", required=False, max_length=64),
            },
        ),
        "typing": EventSpec(typing, {"room_id": ID, "is_typing": Field("bool")}),
        "agent-status-update": EventSpec(
            agent_status_update,
            {
                "status": Field("str", max_length=16),
                "accepting_chats": Field("bool", required=False),
            },
        ),
        "get-online-users": EventSpec(get_online_users),
        "get-online-agents": EventSpec(get_online_agents),
        "edit-message": EventSpec(
            edit_message,
            {
                "room_id": ID,
                "message_id": ID,
                "text": Field("str", max_length=100_000, allow_blank=True),
            },
        ),
        "delete-message": EventSpec(delete_message, {"room_id": ID, "message_id": ID}),
        "sync": EventSpec(sync, {"rooms": Field("seq_map", max_length=200)}),
    }

    message_handlers = {
        **EventConsumer.message_handlers,
        "room.event": room_event,
        "room.access": room_access,
        "user.event": user_event,
        "presence.changed": presence_changed,
        "auth.revoked": auth_revoked,
    }
