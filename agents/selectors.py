"""Reads of the queue and of canned responses, for the API and the admin."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from agents import services
from agents.models import CannedResponse
from agents.services.canned import canned_dto
from chat import dtos
from chat import selectors as chat_selectors
from chat_project.errors import PermissionDenied

PLACEHOLDERS = ("{customer_name}", "{agent_name}")


def queue_list(*, viewer: User) -> list[dict[str, Any]]:
    """Waiting rooms in order, each a room dto with its place and estimated wait."""
    rows = services.queue_snapshot()
    rooms = dtos.rooms_dto([row["room"] for row in rows], known=[viewer])
    return [
        {
            **room,
            "queue_position": row["position"],
            "estimated_wait_seconds": row["estimated_wait_seconds"],
        }
        for room, row in zip(rooms, rows, strict=True)
    ]


def canned_render(text: str, *, customer_name: str, agent_name: str) -> str:
    """Fill the placeholders. Plain replacement of the two known names: any other
    ``{...}`` stays as written (never ``str.format``, which would read attributes)."""
    return text.replace("{customer_name}", customer_name).replace("{agent_name}", agent_name)


def canned_list(
    *, viewer: User, q: str | None = None, room_id: object | None = None
) -> list[dict[str, Any]]:
    """The shared responses and the viewer's own, by shortcut (a personal one before a
    shared one of the same shortcut). ``q``: only those whose shortcut or text contains
    it, case-insensitively. ``room_id`` (a room the viewer may see): each gets
    ``rendered``, its text with the room's customer and the viewer as the agent."""
    if not (viewer.is_agent or viewer.is_admin):
        raise PermissionDenied("Only agents and admins have canned responses.")
    names = None
    if room_id is not None:
        room = chat_selectors.room_get_for_user(room_id=room_id, user=viewer)
        customer = dtos.users_by_id([room.customer_id]).get(str(room.customer_id))
        names = {"customer_name": customer.name if customer else "", "agent_name": viewer.name}
    rows = CannedResponse.objects.filter(scope__in=[CannedResponse.SHARED, str(viewer.pk)])
    wanted = q.casefold() if q else None
    found = []
    for item in rows:
        if wanted and wanted not in item.shortcut and wanted not in item.text.casefold():
            continue
        dto = canned_dto(item, owner=None if item.shared else viewer)
        if names is not None:
            dto["rendered"] = canned_render(item.text, **names)
        found.append(dto)
    found.sort(key=lambda d: (d["shortcut"], d["shared"]))
    return found
