"""``ChatConsumer`` at ``/ws/chat/``: the WebSocket half of the contract (README, "WebSocket
events"). It parses and authorises each frame and calls the same services as REST through
``chat.async_services`` / ``accounts.async_services`` (one thread hop per use case);
presence and typing are Redis only (no hop).

Delivery: what each socket has sent of each joined room is a
:class:`chat.gateway.delivery.RoomCursor` (see there: subscribe first, then read, then drop
what the read covered; gaps repaired from the database).

Authorisation happens on every frame: services check access on every call, and a
user who loses access to a room (``room.access``: transfer, close) is unsubscribed at
once, so they neither receive its events nor type into it.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from accounts import presence
from accounts.events import session_digest, user_group
from accounts.liveness import AGENTS_GROUP, STAFF_GROUP, liveness, publish_status, status_message
from chat import async_services, events, render
from chat.gateway import presence as presence_handlers
from chat.gateway import tools
from chat.gateway.delivery import RoomCursor
from chat.gateway.receipts import PendingReceipts
from chat.gateway.rooms import RoomHandlers
from chat.gateway.typing_handlers import TypingHandlers
from chat_project import budget, drain
from chat_project.errors import ValidationFailed
from chat_project.gateway.consumer import (
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_TOO_MANY_SOCKETS,
    AckLater,
    EventConsumer,
    EventSpec,
    Field,
)
from chat_project.timers import KeyedTimers

logger = logging.getLogger(__name__)


def _quietly(future: Any) -> None:
    """Retrieve a receipt's outcome nobody waits for (a failure is the client's to
    repeat; the socket's own receipts still answer theirs)."""
    if not future.cancelled():
        future.exception()


ID = Field("str", max_length=64)
OPTIONAL_SEQ = Field("int", required=False)
TEXT = Field("str", max_length=100_000, allow_blank=True)  # the service decides
TAG = Field("str", max_length=64)
COMMENT = {"required": False, "max_length": 2000, "allow_blank": True}
# A sync's work is one replay per room it names: one token of the socket's bucket, and of
# its user's budget, for every ROOMS_PER_TOKEN rooms (issue 28, item 5).
ROOMS_PER_TOKEN = 10


def sync_cost(data: dict[str, Any]) -> float:
    return max(1, math.ceil(len(data.get("rooms") or ()) / ROOMS_PER_TOKEN))


class ChatConsumer(RoomHandlers, TypingHandlers, EventConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: Any = None
        self.user_id = ""
        self.audience = render.Audience.CUSTOMER  # what this socket is shown (chat.render)
        self.conn_id = uuid.uuid4().hex
        self.groups_joined: set[str] = set()
        self.rooms: dict[str, RoomCursor] = {}  # the joined rooms
        self.receipts: dict[str, PendingReceipts] = {}  # per room, waiting to be written
        self.timers = KeyedTimers()  # ("typing" | "typing-hold" | "repair" | "receipts", room)
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
        await self.start_session(user, self.scope["session_key"], accept=True)

    async def start_session(self, user: Any, session_key: str, *, accept: bool) -> bool:
        """Admit a signed-in user's socket (under the per-user cap: else 4409), put it in
        its user's and presence's groups and count it as online. ``accept``: accept the
        WebSocket too (a transport that authenticates later has accepted it already:
        ``chat_project.gateway.socketio``'s namespaces). False when refused."""
        self.scope["user"], self.scope["session_key"] = user, session_key
        self.user, self.user_id = user, str(user.pk)
        self.audience = render.audience_of(user)
        admitted, came_online = await presence.aconnection_open(
            user_id=self.user_id,
            conn_id=self.conn_id,
            role=user.role,
            ttl_seconds=settings.WS_PRESENCE_TTL_SECONDS,
            limit=settings.WS_MAX_SOCKETS_PER_USER,
        )
        if not admitted:
            await self.reject(CLOSE_TOO_MANY_SOCKETS, "too many sockets")
            return False
        self.live = True
        # Logout reaches this session's sockets through the user group (auth_revoked
        # filters on the session): a group per session cost every socket a subscription.
        await self._group_add(user_group(self.user_id))
        # Who may see whose presence: staff everyone's, customers the agents'.
        await self._group_add(STAFF_GROUP if user.role in ("agent", "admin") else AGENTS_GROUP)
        if accept:
            await self.accept()
        liveness().add(user, self.conn_id)
        if came_online:
            await publish_status(status_message(user, online=True))
        return True

    @property
    def product_events(self) -> Mapping[str, EventSpec]:
        """The contract's client events (a namespace may put its own in ``events``)."""
        return type(self).events

    async def disconnect(self, code: int) -> None:
        if self.live:
            self.live = False
            liveness().remove(self.conn_id)
            for room_id in list(self.rooms):
                await self._typing_stopped(room_id)
                await self._flush_receipts(room_id)
            try:
                # Longer while the process drains: the user reconnects elsewhere first.
                await presence.alease_release(
                    user_id=self.user_id,
                    conn_id=self.conn_id,
                    grace_seconds=drain.presence_grace_seconds(),
                )
            except Exception:  # the lease then simply runs out
                logger.warning("lease release failed", exc_info=True)
        for group in list(self.groups_joined):
            await self._group_discard(group)
        self.rooms.clear()
        self.timers.cancel_all()

    async def finish_pending(self) -> None:
        """A drain: coalesced receipts are written now (their acks follow)."""
        for room_id in list(self.receipts):
            await self._flush_receipts(room_id)

    async def _group_add(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def _group_discard(self, group: str) -> None:
        self.groups_joined.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)

    # --- messages and receipts ---------------------------------------------------------

    async def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ack ``{message}`` once the write is durable. The seq this socket has seen of
        the room (if it follows it) saves the writer a read; nothing else differs from
        a REST send."""
        room_id = data["room_id"].lower()
        cursor = self.rooms.get(room_id)
        self.typing_cancelled(room_id)  # see chat.gateway.typing_handlers: the hold
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
        return await self.receipt_frame(data, "delivered")

    async def message_read(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self.receipt_frame(data, "read")

    async def receipt_frame(self, data: dict[str, Any], kind: str) -> dict[str, Any] | AckLater:
        if (data.get("up_to_seq") is None) == (data.get("message_id") is None):
            raise ValidationFailed(
                "Give either up_to_seq or message_id.",
                details={"fields": {"up_to_seq": ["Either this or message_id."]}},
            )
        room_id = data["room_id"].lower()
        if room_id in self.rooms and data.get("up_to_seq") is not None:
            # See chat.gateway.receipts: merged with this room's other receipts for a
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

    async def receipt_by_message(self, room_id: str, message_id: str, kind: str) -> Any:
        """A receipt up to a message of a room this socket may not follow (one read)."""
        return await async_services.receipt_advance(
            room_id=room_id, user=self.user, kind=kind, message_id=message_id
        )

    def receipt_soon(self, room_id: str, up_to_seq: int, kind: str) -> None:
        """A receipt the server makes for this socket's client (it reached it), written
        with the room's other receipts; nobody waits for its answer."""
        if room_id not in self.rooms or self.closing:
            return
        pending = self.receipts.setdefault(room_id, PendingReceipts())
        pending.add(kind, up_to_seq).add_done_callback(_quietly)
        delay = settings.WS_RECEIPT_COALESCE_SECONDS
        self.timers.start(
            ("receipts", room_id), delay, lambda: self._flush_receipts(room_id), restart=False
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

    def _publish_ephemeral(self, room_id: str, rendered: render.Rendered) -> None:
        """A room event that is not part of the history (no seq), to the other users."""
        events.ephemeral(room_id, rendered, exclude_user_id=self.user_id)

    # --- what a frame costs --------------------------------------------------------------

    async def charge(self, cost: float) -> None:
        await budget.auser_spend(user_id=self.user_id, cost=cost)

    def frame_cost(self, frame: Any) -> int:
        """A ``sync`` naming many rooms is that much work (each a replay): one token for
        every ``ROOMS_PER_TOKEN`` rooms of it, at least one (issue 28: 200 unknown rooms
        in one frame cost ~367 ms)."""
        data = frame.get("data") if isinstance(frame, dict) else None
        if isinstance(frame, dict) and frame.get("event") == "sync" and isinstance(data, dict):
            rooms = data.get("rooms")
            if isinstance(rooms, dict):
                return max(1, math.ceil(len(rooms) / ROOMS_PER_TOKEN))
        return super().frame_cost(frame)

    # --- channel-layer messages --------------------------------------------------------

    async def room_event(self, message: dict[str, Any]) -> None:
        room_id = message.get("room_id")
        cursor = self.rooms.get(room_id)
        if cursor is None or message.get("exclude_user_id") == self.user_id:
            return
        seq = message.get("seq")
        data = events.room_event_for(message, self.audience)
        if seq is not None:
            # An event not shown to this socket's audience (a private note, a tag, the
            # rating, for a customer) is stepped over as sent, so it is not taken for a
            # gap to repair.
            if not cursor.take(seq, now=time.monotonic()):
                return  # already sent (in a read, a replay or a repair)
            self._schedule_repair(room_id, cursor)
        if data is not None:
            await self.send_event(message["event"], data)

    async def room_access(self, message: dict[str, Any]) -> None:
        room_id = message.get("room_id")
        if room_id in self.rooms and self.user_id in (message.get("revoked_user_ids") or ()):
            await self._typing_stopped(room_id)
            await self._drop_room(room_id)

    async def user_event(self, message: dict[str, Any]) -> None:
        """A server event for every socket of one user (routing: ``room-assigned``,
        ``queue-updated``; group ``user.<id>``)."""
        await self.send_event(message["event"], message.get("data") or {})

    async def auth_revoked(self, message: dict[str, Any]) -> None:
        """Logout (the sockets of that session: ``session`` names it) or a password
        change (all the user's)."""
        session = message.get("session")
        if session is not None and session != session_digest(self.scope["session_key"]):
            return
        await self.close_socket(CLOSE_NOT_AUTHENTICATED, str(message.get("reason", "")))

    events = {
        "join-room": EventSpec(
            RoomHandlers.join_room, {"room_id": ID, "after_seq": OPTIONAL_SEQ}, cost=1
        ),
        "leave-room": EventSpec(RoomHandlers.leave_room, {"room_id": ID}),
        "send-message": EventSpec(
            send_message,
            {
                "room_id": ID,
                "client_msg_id": ID,
                "text": Field("str", max_length=100_000, allow_blank=True),
                "attachment_ids": Field("str_list", required=False, max_length=20),
            },
            cost=1,
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
        "typing": EventSpec(TypingHandlers.typing, {"room_id": ID, "is_typing": Field("bool")}),
        "agent-status-update": EventSpec(
            presence_handlers.agent_status_update,
            {
                "status": Field("str", max_length=16),
                "accepting_chats": Field("bool", required=False),
            },
            cost=1,
        ),
        "get-online-users": EventSpec(presence_handlers.get_online_users, cost=1),
        "get-online-agents": EventSpec(presence_handlers.get_online_agents, cost=1),
        "edit-message": EventSpec(
            edit_message,
            {
                "room_id": ID,
                "message_id": ID,
                "text": Field("str", max_length=100_000, allow_blank=True),
            },
            cost=1,
        ),
        "delete-message": EventSpec(delete_message, {"room_id": ID, "message_id": ID}, cost=1),
        "sync": EventSpec(
            RoomHandlers.sync, {"rooms": Field("seq_map", max_length=200)}, cost=sync_cost
        ),
        "add-note": EventSpec(tools.add_note, {"room_id": ID, "text": TEXT}, cost=1),
        "edit-note": EventSpec(
            tools.edit_note, {"room_id": ID, "note_id": ID, "text": TEXT}, cost=1
        ),
        "delete-note": EventSpec(tools.delete_note, {"room_id": ID, "note_id": ID}, cost=1),
        "tag-room": EventSpec(tools.tag_room, {"room_id": ID, "tag": TAG}, cost=1),
        "untag-room": EventSpec(tools.untag_room, {"room_id": ID, "tag": TAG}, cost=1),
        "rate-room": EventSpec(
            tools.rate_room,
            {"room_id": ID, "score": Field("int"), "comment": Field("str", **COMMENT)},
            cost=1,
        ),
    }

    message_handlers = {
        **EventConsumer.message_handlers,
        "room.event": room_event,
        "room.access": room_access,
        "user.event": user_event,
        "presence.changed": presence_handlers.presence_changed,
        "auth.revoked": auth_revoked,
    }
