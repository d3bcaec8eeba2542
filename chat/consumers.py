"""``ChatConsumer`` at ``/ws/chat/``: the WebSocket half of the contract (README, "WebSocket
events"). It parses and authorises each frame and calls the same services as REST through
``chat.async_services`` / ``accounts.async_services`` (one thread hop per use case);
presence and typing are Redis only (no hop).

Delivery: what each socket has sent of each joined room is a :class:`chat.delivery.RoomCursor`
(see there: subscribe first, then read, then drop what the read covered; gaps repaired from
the database).

Authorisation happens on every frame: services check access on every call, and a
user who loses access to a room (``room.access``: transfer, close) is unsubscribed at
once, so they neither receive its events nor type into it.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from bson import ObjectId
from django.conf import settings

from accounts import async_services as accounts_async
from accounts import presence
from accounts.events import session_digest, user_group
from accounts.liveness import AGENTS_GROUP, STAFF_GROUP, liveness, publish_status, status_message
from chat import async_services, delivery, typing_state
from chat.delivery import RoomCursor
from chat.receipt_batch import PendingReceipts
from chat_project import fanout
from chat_project.errors import DomainError, NotFound, ValidationFailed
from chat_project.timers import KeyedTimers
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


def room_group(room_id: str) -> str:
    return f"room.{room_id}"


def _room_id(value: str) -> str:
    """A room id as the services publish it (lowercase ObjectId hex). Anything else is
    an unknown room (and never becomes a channel-layer group name)."""
    if not ObjectId.is_valid(value):
        raise NotFound("No such room.")
    return value.lower()


class ChatConsumer(EventConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: Any = None
        self.user_id = ""
        self.conn_id = uuid.uuid4().hex
        self.groups_joined: set[str] = set()
        self.rooms: dict[str, RoomCursor] = {}  # the joined rooms
        self.receipts: dict[str, PendingReceipts] = {}  # per room, waiting to be written
        self.timers = KeyedTimers()  # ("typing" | "repair" | "receipts", room_id)
        self.live = False  # counted in presence and under the socket cap

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
            for room_id in list(self.rooms):
                await self._typing_stopped(room_id)
                await self._flush_receipts(room_id)
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
        self.timers.cancel_all()

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
            self._set_cursor(room_id, self._cursor_after_replay(result, cursors[room_id]))
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
        self.timers.cancel(("typing", room_id))
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
        if room_id in self.rooms and data.get("up_to_seq") is not None:
            # See chat.receipt_batch: merged with this room's other receipts for a
            # moment, then written as one receipt.
            pending = self.receipts.setdefault(room_id, PendingReceipts())
            waiter = pending.add(kind, data["up_to_seq"])
            delay = settings.WS_RECEIPT_COALESCE_SECONDS
            if delay > 0:
                self.timers.start(
                    ("receipts", room_id),
                    delay,
                    lambda: self._flush_receipts(room_id),
                    restart=False,
                )
            else:
                await self._flush_receipts(room_id)
            return AckLater(waiter)
        return await async_services.receipt_advance(
            room_id=data["room_id"],
            user=self.user,
            kind=kind,
            up_to_seq=data.get("up_to_seq"),
            message_id=data.get("message_id"),
        )

    async def _flush_receipts(self, room_id: str) -> None:
        """Write a room's pending receipts as one and answer each of them."""
        self.timers.cancel(("receipts", room_id))
        pending = self.receipts.pop(room_id, None)
        if pending is None:
            return
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
        self.timers.start(
            ("typing", room_id), ttl, lambda: self._typing_timer_fired(room_id), restart=True
        )
        if due:
            await self._publish_typing(room_id, True)
        return {"room_id": room_id}

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
        if not self.timers.cancel(("typing", room_id)):
            return  # this socket was not typing there
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
            if not cursor.take(seq, now=time.monotonic()):
                return  # already sent (in a read, a replay or a repair)
            self._schedule_repair(room_id, cursor)
        data = message.get("data") or {}
        if data.get("room_id") != room_id or ("seq" not in data and seq is not None):
            data = {**data, "room_id": room_id, **({"seq": seq} if seq is not None else {})}
        await self.send_event(message["event"], data)

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
