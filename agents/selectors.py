"""Reads of the queue for the API and the admin."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from agents import services
from chat import dtos


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
