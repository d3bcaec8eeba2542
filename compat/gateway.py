"""The reference's socket protocol on the product's gateway: Socket.IO namespace ``/compat``
on ``/socket.io/`` (``chat_project.gateway.socketio`` hands a socket that connects to it a
:class:`CompatWire`).

The socket is the product's own ``ChatConsumer``: sessions, presence, authorisation,
limits, the timeline writer and every rule are the product's. The wire only

- authenticates the namespace ``CONNECT`` from ``auth.sessionId`` (the Django session
  key: ``compat.auth``) and then follows the user's open rooms without replaying them;
- renames the reference's client events to the product's handlers (``send-message``
  gets a fresh ``client_msg_id``, so each send goes through the one timeline writer
  once; a receipt names a message, which marks everything up to it);
- translates what the product sends the socket (already rendered for its viewer by
  ``chat.render``) into the reference's events: ``new-message`` with ``sender``,
  per-message ``message-status-updated`` from the watermarks, ``chat-room-updated`` and
  the agent-assignment events from the room lifecycle, arrays for the online lists; what
  the reference has no event for (edits, notes, tags, the queue) is not sent.

Every message this socket has been shown is remembered (per room, the newest
``MESSAGES_REMEMBERED``: id, seq, sender), which is what lets a receipt by message id
skip the database and a watermark become per-message statuses.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accounts import async_services as accounts_async
from accounts import presence
from chat import async_services, render
from chat_project.gateway.consumer import EventSpec
from chat_project.gateway.frames import Field
from compat import auth, shapes

NAMESPACE = "/compat"
MESSAGES_REMEMBERED = 500
LIFECYCLE_REMEMBERED = 200

ROOM_ID = Field("str", max_length=64)
OPTIONAL_ROOM_ID = Field("str", required=False, max_length=64)
MESSAGE_ID = Field("str", max_length=64)
CONTENT = Field("str", max_length=100_000, allow_blank=True)


@dataclass
class RoomMessages:
    """What this socket was shown of one room's messages, and the receipts it knows."""

    by_seq: OrderedDict[int, tuple[str, str | None]] = field(default_factory=OrderedDict)
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (delivered, read)

    def add(self, seq: int, message_id: str, sender_id: str | None) -> None:
        self.by_seq[seq] = (message_id, sender_id)
        self.by_seq.move_to_end(seq)
        while len(self.by_seq) > MESSAGES_REMEMBERED:
            self.by_seq.popitem(last=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CompatWire:
    """One socket's translation between the reference's events and the product's."""

    namespace = NAMESPACE

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.rooms: dict[str, RoomMessages] = {}
        self.message_rooms: dict[str, tuple[str, int]] = {}  # message id -> (room, seq)
        self.lifecycle_seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self.active_room: str | None = None

    # -- the namespace CONNECT

    async def connect(self, auth_data: Any) -> tuple[int, str] | None:
        """Sign the socket in from ``auth.sessionId``; ``(close code, reason)`` when
        refused."""
        key = auth_data.get("sessionId") if isinstance(auth_data, dict) else None
        if not isinstance(key, str) or not key or len(key) > auth.MAX_KEY_LENGTH:
            return 4401, "Authentication error: No session ID"
        user = await accounts_async.socket_user(session_key=key)
        if user is None:
            return 4401, "Authentication error: Invalid session"
        if self.sock.live:  # signed in by its cookie at the upgrade already
            if self.sock.user.pk != user.pk:
                return 4401, "Authentication error: another user is signed in"
            return None
        if not await self.sock.start_session(user, key, accept=False):
            return self.sock.sio_refusal or (4409, "too many sockets")
        return None

    async def connected(self) -> None:
        """Follow the user's open rooms, as the reference joined them at connect: live
        from now on, nothing replayed (the client loads history when it opens a room).
        Admins, who take part in no room, follow none."""
        if self.sock.audience is render.Audience.ADMIN:
            return
        await self.sock.follow_rooms(await async_services.room_ids_for_user(user=self.sock.user))

    # -- client events

    def frame_cost(self, frame: Any) -> int:
        """A receipt for a room whose receipts wait to be written anyway costs nothing:
        the reference client sends one ``message-read`` per unread message, all at once,
        and the product coalesces them into one write."""
        if not isinstance(frame, dict) or frame.get("event") not in ("message-read",):
            return 1
        data = frame.get("data")
        message_id = data.get("messageId") if isinstance(data, dict) else None
        known = self.message_rooms.get(message_id) if isinstance(message_id, str) else None
        return 0 if known is not None and known[0] in self.sock.receipts else 1

    async def join_room(self, sock: Any, data: dict[str, Any]) -> dict[str, Any]:
        return await sock.join_room({"room_id": data["chatRoomId"]})

    async def leave_room(self, sock: Any, data: dict[str, Any]) -> dict[str, Any]:
        return await sock.leave_room({"room_id": data["chatRoomId"]})

    async def send_message(self, sock: Any, data: dict[str, Any]) -> dict[str, Any]:
        # The edge names the send: each frame is one message, written once.
        frame = {
            "room_id": data["chatRoomId"],
            "client_msg_id": uuid.uuid4().hex,
            "text": data["content"],
        }
        return await sock.send_message(frame)

    async def message_read(self, sock: Any, data: dict[str, Any]) -> Any:
        return await self._receipt(sock, data["messageId"], "read")

    async def message_delivered(self, sock: Any, data: dict[str, Any]) -> Any:
        return await self._receipt(sock, data["messageId"], "delivered")

    async def _receipt(self, sock: Any, message_id: str, kind: str) -> Any:
        """A receipt names a message: it marks everything up to it (the product's
        watermarks), coalesced with the room's other receipts."""
        known = self.message_rooms.get(message_id)
        if known is None:
            room_id = await async_services.message_room_id(message_id=message_id)
            return await sock.receipt_by_message(room_id, message_id, kind)
        room_id, seq = known
        return await sock.receipt_frame({"room_id": room_id, "up_to_seq": seq}, kind)

    async def set_active_chat(self, sock: Any, data: dict[str, Any]) -> dict[str, Any]:
        """The room the client shows: what it has received there is delivered."""
        room_id = data.get("chatRoomId")
        self.active_room = room_id.lower() if isinstance(room_id, str) else None
        cursor = sock.rooms.get(self.active_room) if self.active_room else None
        if cursor is not None and cursor.seq > 0:
            sock.receipt_soon(self.active_room, cursor.seq, "delivered")
        return {"chatRoomId": self.active_room}

    async def typing(self, sock: Any, data: dict[str, Any]) -> dict[str, Any]:
        return await sock.typing({"room_id": data["chatRoomId"], "is_typing": data["isTyping"]})

    @property
    def events(self) -> dict[str, EventSpec]:
        product = self.sock.product_events
        return {
            # What a frame costs of its user's budget is the product's (issue 28).
            "join-room": EventSpec(
                self.bound(self.join_room), {"chatRoomId": ROOM_ID}, product["join-room"].cost
            ),
            "leave-room": EventSpec(self.bound(self.leave_room), {"chatRoomId": ROOM_ID}),
            "send-message": EventSpec(
                self.bound(self.send_message),
                {
                    "chatRoomId": ROOM_ID,
                    "content": CONTENT,
                    "messageType": Field("str", required=False, max_length=16),
                },
                product["send-message"].cost,
            ),
            "message-read": EventSpec(self.bound(self.message_read), {"messageId": MESSAGE_ID}),
            "message-delivered": EventSpec(
                self.bound(self.message_delivered), {"messageId": MESSAGE_ID}
            ),
            "set-active-chat": EventSpec(
                self.bound(self.set_active_chat), {"chatRoomId": OPTIONAL_ROOM_ID}
            ),
            "typing": EventSpec(
                self.bound(self.typing), {"chatRoomId": ROOM_ID, "isTyping": Field("bool")}
            ),
            "agent-status-update": product["agent-status-update"],
            "get-online-users": product["get-online-users"],
            "get-online-agents": product["get-online-agents"],
        }

    @staticmethod
    def bound(method: Any) -> Any:
        async def handler(sock: Any, data: dict[str, Any]) -> Any:
            return await method(sock, data)

        return handler

    # -- what the product sends, in the reference's events

    async def outgoing(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        event, data = frame["event"], frame.get("data") or {}
        if event in ("ack", "error"):
            return [frame]
        translate = _OUTGOING.get(event)
        if translate is None:
            return []  # the reference has no such event
        return [{"event": name, "data": body} for name, body in await translate(self, data)]

    def _remember(self, message: dict[str, Any]) -> None:
        room_id, seq = message["room_id"], message["seq"]
        sender = (message.get("sender") or {}).get("id")
        self.rooms.setdefault(room_id, RoomMessages()).add(seq, message["id"], sender)
        self.message_rooms[message["id"]] = (room_id, seq)
        while len(self.message_rooms) > 20 * MESSAGES_REMEMBERED:
            self.message_rooms.pop(next(iter(self.message_rooms)))

    async def _new_message(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        message = data["message"]
        self._remember(message)
        sender = (message.get("sender") or {}).get("id")
        if sender != self.sock.user_id and data["room_id"] in self.sock.rooms:
            # It reached this client: delivered (the product's watermark; coalesced).
            self.sock.receipt_soon(data["room_id"], data["seq"], "delivered")
        return [
            ("new-message", {"message": shapes.message(message), "sender": shapes.sender(message)})
        ]

    async def _history(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        if "messages" not in data:  # a replay (sync): the reference client never asks
            return []
        room_id = data["room_id"]
        for message in data["messages"]:
            self._remember(message)
        known = self.rooms.setdefault(room_id, RoomMessages())
        for user_id, marks in (data.get("watermarks") or {}).items():
            known.marks[user_id] = (marks["last_delivered_seq"], marks["last_read_seq"])
        messages = [shapes.message(m) for m in data["messages"]]
        return [("chat-history", {"chatRoomId": room_id, "messages": messages})]

    async def _status(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        """A watermark move as one event per message it passed (never the reader's own,
        never a downgrade), to every socket of the room, the reader's own included."""
        room_id, reader = data["room_id"], data["user_id"]
        known = self.rooms.setdefault(room_id, RoomMessages())
        old_delivered, old_read = known.marks.get(reader, (0, 0))
        delivered, read = data["last_delivered_seq"], data["last_read_seq"]
        known.marks[reader] = (max(old_delivered, delivered), max(old_read, read))
        out = []
        for seq, (message_id, sender) in known.by_seq.items():
            if sender == reader:
                continue
            if old_read < seq <= read:
                status = "read"
            elif max(old_delivered, read) < seq <= delivered:
                status = "delivered"
            else:
                continue
            out.append(
                (
                    "message-status-updated",
                    {"messageId": message_id, "status": status, "userId": reader},
                )
            )
        return out

    async def _typing(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        return [
            (
                "user-typing",
                {
                    "userId": data["user_id"],
                    "username": data["username"],
                    "chatRoomId": data["room_id"],
                    "isTyping": data["is_typing"],
                },
            )
        ]

    async def _joined(self, data: dict[str, Any], name: str) -> list[tuple[str, Any]]:
        user = data.get("user") or {}
        body = {"userId": user.get("id"), "username": user.get("username")}
        return [(name, {**body, "chatRoomId": data["room_id"]})]

    async def _online_users(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        users = [shapes.online_user(u) for u in data.get("users") or () if u["role"] == "user"]
        return [("online-users", users)]

    async def _online_agents(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        return [("online-agents", [shapes.online_agent(a) for a in data.get("agents") or ()])]

    async def _status_changed(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        body = {"userId": data.get("user_id"), "status": data.get("status"), "timestamp": _now()}
        return [("user-status-changed", body)]

    # -- the room lifecycle

    def _first_time(self, room_id: str, seq: int | None) -> bool:
        """Whether this socket has not translated this lifecycle event yet (an agent gets
        it from the room and from their own sockets' group)."""
        if seq is None:
            return True
        key = (room_id, seq)
        if key in self.lifecycle_seen:
            return False
        self.lifecycle_seen[key] = None
        while len(self.lifecycle_seen) > LIFECYCLE_REMEMBERED:
            self.lifecycle_seen.popitem(last=False)
        return True

    async def _room(self, data: dict[str, Any]) -> dict[str, Any]:
        return shapes.room(data["room"], online=await presence.aonline_user_ids())

    async def _assigned(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        room_id = data["room_id"]
        if not self._first_time(room_id, data.get("seq")):
            return []
        chat_room = await self._room(data)
        agent = (data.get("agent") or data.get("to_agent") or {}).get("id")
        if agent == self.sock.user_id:
            await self.sock.follow_rooms([room_id])
            reason = data.get("reason") or "transfer"
            return [("agent-assignment-received", {"chatRoom": chat_room, "reason": reason})]
        mine_before = (data.get("from_agent") or {}).get("id") == self.sock.user_id
        if mine_before:
            return [("agent-assignment-removed", {"chatRoomId": room_id, "reason": "transfer"})]
        return [_room_updated(chat_room, "agent-assigned", data.get("reason") or "")]

    async def _system(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        room_id = data["room_id"]
        if data.get("room") is None or not self._first_time(room_id, data.get("seq")):
            return []
        chat_room = await self._room(data)
        reason = data.get("text") or ""
        removed = (data.get("from_agent") or {}).get("id")
        if removed is None:
            return [
                (
                    "chat-room-updated",
                    {"chatRoom": chat_room, "action": "room-updated", "reason": reason},
                )
            ]
        if removed == self.sock.user_id:
            return [("agent-assignment-removed", {"chatRoomId": room_id, "reason": reason})]
        notice = {
            "chatRoomId": room_id,
            "removedAgentId": removed,
            "newAgent": None,
            "reason": reason,
            "timestamp": _now(),
        }
        return [
            ("agent-removed", notice),
            (
                "chat-room-updated",
                {"chatRoom": chat_room, "action": "agent-removed", "reason": reason},
            ),
        ]

    async def _closed(self, data: dict[str, Any]) -> list[tuple[str, Any]]:
        if not self._first_time(data["room_id"], data.get("seq")):
            return []
        chat_room = await self._room(data)
        return [
            ("chat-room-updated", {"chatRoom": chat_room, "action": "room-closed", "reason": ""})
        ]


def _room_updated(chat_room: dict[str, Any], action: str, reason: str) -> tuple[str, Any]:
    return "chat-room-updated", {"chatRoom": chat_room, "action": action, "reason": reason}


async def _user_joined(wire: CompatWire, data: dict[str, Any]) -> list[tuple[str, Any]]:
    return await wire._joined(data, "user-joined-room")


async def _user_left(wire: CompatWire, data: dict[str, Any]) -> list[tuple[str, Any]]:
    return await wire._joined(data, "user-left-room")


_OUTGOING = {
    render.NEW_MESSAGE: CompatWire._new_message,
    "chat-history": CompatWire._history,
    render.MESSAGE_STATUS_UPDATED: CompatWire._status,
    render.USER_TYPING: CompatWire._typing,
    render.USER_JOINED_ROOM: _user_joined,
    render.USER_LEFT_ROOM: _user_left,
    "online-users": CompatWire._online_users,
    "online-agents": CompatWire._online_agents,
    "user-status-changed": CompatWire._status_changed,
    render.ROOM_ASSIGNED: CompatWire._assigned,
    render.ROOM_TRANSFERRED: CompatWire._assigned,
    render.SYSTEM_MESSAGE: CompatWire._system,
    render.ROOM_CLOSED: CompatWire._closed,
}
