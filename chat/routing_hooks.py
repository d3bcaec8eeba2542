"""Routing's say in what chat answers, without chat importing routing (issue 15).

Teams, skills and business hours are the ``agents`` app's; chat only stores a room's
team id and required skills (``Room.team_id``, ``Room.required_skills``). Two questions
chat cannot answer itself are asked of hooks that ``agents`` registers at start
(``agents.receivers``), as ``accounts.liveness`` does for presence:

- ``room_target``: where a new room goes (its team and skills, from the customer's
  choice or the widget's topic) and whether that team is closed now; it refuses an
  unknown team or topic with ``validation_error``;
- ``room_extras``: what a room's REST answer (create, detail) adds about its team (its
  name, and while it waits whether the team is closed, when it opens, its message).

Without a registered hook (chat alone) every room goes to the general queue and
answers add nothing: the behaviour of before teams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId


@dataclass(frozen=True)
class RoomTarget:
    team_id: ObjectId | None = None
    required_skills: list[dict[str, Any]] = field(default_factory=list)
    offline: bool = False  # the team is closed now: the room waits for its opening


TargetHook = Callable[..., RoomTarget]
ExtrasHook = Callable[[Any], dict[str, Any]]

_target_hook: TargetHook | None = None
_extras_hook: ExtrasHook | None = None


def register_room_target(hook: TargetHook) -> None:
    global _target_hook
    _target_hook = hook


def register_room_extras(hook: ExtrasHook) -> None:
    global _extras_hook
    _extras_hook = hook


def room_target(*, customer: Any, team_id: str | None, topic: str | None) -> RoomTarget:
    if _target_hook is None:
        return RoomTarget()
    return _target_hook(customer=customer, team_id=team_id, topic=topic)


def room_extras(room: Any) -> dict[str, Any]:
    if _extras_hook is None or room.team_id is None:
        return {}
    return _extras_hook(room)
