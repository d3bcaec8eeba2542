"""Skills a room needs and whether an agent holds them (issue 15). Pure: no database.

A requirement is ``{"name": "french", "min_level": None}`` (the agent holds the skill,
at any level or none) or ``{"name": "billing", "min_level": 2}`` (the agent holds it at
level 2 or more; a skill held without a level does not reach a minimum). A room stores
its requirements as that list (``chat.Room.required_skills``); a topic writes them as
text, ``"french, billing:2"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_REQUIREMENTS = 10
MAX_LEVEL = 10


def requirement(name: object, min_level: object = None) -> dict[str, Any]:
    """One requirement, checked; ``ValueError`` says what is wrong."""
    if not isinstance(name, str) or not NAME.match(name.strip().lower()):
        raise ValueError(f"{name!r} is not a skill name (lowercase letters, digits, - and _).")
    if min_level is not None and (
        isinstance(min_level, bool)
        or not isinstance(min_level, int)
        or not 1 <= min_level <= MAX_LEVEL
    ):
        raise ValueError(f"A minimum level is 1 to {MAX_LEVEL}.")
    return {"name": name.strip().lower(), "min_level": min_level}


def normalize(needs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Requirements from the wire or the database: checked, one per skill (the highest
    minimum wins), sorted by name so that equal needs compare equal."""
    merged: dict[str, int | None] = {}
    for need in needs:
        if not isinstance(need, Mapping) or set(need) - {"name", "min_level"}:
            raise ValueError('Each requirement is {"name", "min_level"?}.')
        one = requirement(need.get("name"), need.get("min_level"))
        before = merged.get(one["name"])
        level = one["min_level"]
        merged[one["name"]] = before if level is None else max(level, before or 0)
    if len(merged) > MAX_REQUIREMENTS:
        raise ValueError(f"At most {MAX_REQUIREMENTS} skills.")
    return [{"name": name, "min_level": merged[name]} for name in sorted(merged)]


def parse_requirements(text: str) -> list[dict[str, Any]]:
    """``"french, billing:2"`` -> requirements."""
    needs = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, level = part.partition(":")
        if level and not level.strip().isdigit():
            raise ValueError(f"{part!r}: the level after ':' is a number.")
        needs.append({"name": name.strip(), "min_level": int(level) if level else None})
    return normalize(needs)


def requirements_text(needs: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(
        n["name"] if n.get("min_level") is None else f"{n['name']}:{n['min_level']}" for n in needs
    )


def holds(skills: Mapping[str, int | None], needs: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an agent holding ``skills`` (name -> level or None) meets every need."""
    for need in needs:
        if need["name"] not in skills:
            return False
        minimum = need.get("min_level")
        if minimum is not None:
            level = skills[need["name"]]
            if level is None or level < minimum:
                return False
    return True
