"""The gateway's handlers for what agents use around the messages (functions of the
socket and the frame's data, listed in ``ChatConsumer.events``): private notes and tags
(agents and admins), and the customer's satisfaction rating. Each calls one service
through ``chat.async_services``; the services authorise (a customer's note or tag is
``permission_denied``, an agent's rating too)."""

from __future__ import annotations

from typing import Any

from chat import async_services


async def add_note(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{note}``; ``note-added`` to the room's staff."""
    note = await async_services.note_add(
        room_id=data["room_id"], author=sock.user, text=data["text"]
    )
    return {"note": note}


async def edit_note(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{room_id, seq, note}``; ``note-updated`` to the room's staff."""
    return await async_services.note_edit(
        room_id=data["room_id"], note_id=data["note_id"], actor=sock.user, text=data["text"]
    )


async def delete_note(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{room_id, note_id, seq}``; ``note-deleted`` to the room's staff."""
    return await async_services.note_delete(
        room_id=data["room_id"], note_id=data["note_id"], actor=sock.user
    )


async def tag_room(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{room_id, seq, tag, tags}``; ``room-tagged`` to the room's staff."""
    return await async_services.room_tag(room_id=data["room_id"], actor=sock.user, tag=data["tag"])


async def untag_room(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{room_id, seq, tag, tags}``; ``room-untagged`` to the room's staff."""
    return await async_services.room_untag(
        room_id=data["room_id"], actor=sock.user, tag=data["tag"]
    )


async def rate_room(sock: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Ack ``{room_id, seq, rating}``; ``room-rated`` to the room's staff."""
    return await async_services.room_rate(
        room_id=data["room_id"],
        customer=sock.user,
        score=data["score"],
        comment=data.get("comment") or "",
    )
