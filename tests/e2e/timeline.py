"""What a client knows of a room, built only from the frames it received, and the same
read from the database: the resume and lossy tests compare the two."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RoomView:
    room_id: str
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> text, deleted
    watermarks: dict[str, dict[str, int]] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)  # history seqs in arrival order
    last_seq: int = 0

    def apply(self, frame: dict[str, Any]) -> None:
        event, data = frame["event"], frame["data"]
        if data.get("room_id") != self.room_id:
            return
        if event == "chat-history":
            for message in data.get("messages", ()):
                self._message(message)
            for item in data.get("events", ()):
                self.apply(item)
            self.watermarks.update(data.get("watermarks") or {})
            self.last_seq = max(self.last_seq, data["last_seq"])
            return
        if event == "message-status-updated":
            self.watermarks[data["user_id"]] = {
                "last_delivered_seq": data["last_delivered_seq"],
                "last_read_seq": data["last_read_seq"],
            }
            return
        if data.get("seq") is not None:
            self.seqs.append(data["seq"])
            self.last_seq = max(self.last_seq, data["seq"])
        if event in ("new-message", "message-updated"):
            self._message(data["message"])
        elif event == "message-deleted":
            self.messages[data["message_id"]] = {"text": "", "deleted": True}

    def _message(self, message: dict[str, Any]) -> None:
        deleted = message["deleted"]
        self.messages[message["id"]] = {
            "text": "" if deleted else message["text"],
            "deleted": deleted,
        }

    def state(self) -> dict[str, Any]:
        return {"messages": self.messages, "watermarks": self.watermarks, "last_seq": self.last_seq}


def stored_state(room_id: str) -> dict[str, Any]:
    """The room as stored (sync: call through sync_to_async)."""
    from chat import dtos
    from chat.models import EventKind, Room, RoomEvent

    room = Room.objects.get(pk=room_id)
    messages = {
        str(m.pk): {"text": "" if m.deleted else m.text, "deleted": m.deleted}
        for m in RoomEvent.objects.filter(room=room, kind=EventKind.MESSAGE)
    }
    return {
        "messages": messages,
        "watermarks": dtos.watermarks_dto(room),
        "last_seq": room.last_seq,
    }
