"""Reads of the queues, teams, topics, messages left while closed and canned responses,
for the API and the admin."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from accounts.models import User
from agents import services
from agents.directory import TeamInfo, directory
from agents.models import CannedResponse, OfflineMessage
from agents.services import common
from agents.services.canned import canned_dto
from agents.services.teams import offline_message_dto, team_state
from chat import dtos, render
from chat import selectors as chat_selectors
from chat_project.errors import NotFound, PermissionDenied

OFFLINE_MESSAGES_MAX = 100
PLACEHOLDERS = ("{customer_name}", "{agent_name}")


def _team_id(value: str | None) -> ObjectId | None:
    """A team id from the query string (unknown: 404, like any id)."""
    team = directory().team(ObjectId(value)) if value and ObjectId.is_valid(value) else None
    if team is None:
        raise NotFound("No such team.")
    return team.id


def queue_list(*, viewer: User, team_id: str | None = None) -> list[dict[str, Any]]:
    """Waiting rooms in order (every queue, or one team's), each a room dto with its
    team, its place in its team's queue and estimated wait."""
    only = services.ALL if team_id is None else _team_id(team_id)
    rows = services.queue_snapshot(team_id=only)
    rooms = render.rooms([row["room"] for row in rows], viewer=viewer)
    return [
        {
            **room,
            "team": row["team"],
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


def _team_dto(
    team: TeamInfo, *, staff: bool, members: dict[str, User], viewer_is_admin: bool = False
) -> dict[str, Any]:
    now = common.routing_now()
    state = team_state(team, now)
    data: dict[str, Any] = {
        **team.brief(),
        "description": team.description,
        "open": not state["offline"],
        "next_open_at": state.get("next_open_at"),
        "offline_message": state.get("offline_message", ""),
    }
    if staff:
        teams = directory()
        data.update(
            listed=team.listed,
            time_zone=team.timezone,
            always_open=team.schedule.always_open,
            overflow_after_seconds=team.overflow_after_seconds,
            fallback_id=str(team.fallback_id) if team.fallback_id else None,
            ring_no_answer_seconds=team.ring_no_answer_seconds,
            first_response_seconds=team.first_response_seconds,
            resolution_seconds=team.resolution_seconds,
            members=[
                dtos.user_brief(members[str(agent_id)])
                for agent_id in sorted(teams.members.get(team.id, ()), key=str)
                if str(agent_id) in members
            ],
        )
        if viewer_is_admin:
            data["email"] = team.email
    return data


def team_list(*, viewer: User) -> list[dict[str, Any]]:
    """Teams by name with whether each is open now (customers: the listed ones only;
    agents and admins: every team with its members, hours and overflow)."""
    teams = directory()
    staff = viewer.is_agent or viewer.is_admin
    shown = [t for t in teams.teams.values() if staff or t.listed]
    members: dict[str, User] = {}
    if staff:
        members = dtos.users_by_id({a for t in shown for a in teams.members.get(t.id, ())})
    return [
        _team_dto(team, staff=staff, members=members, viewer_is_admin=viewer.is_admin)
        for team in sorted(shown, key=lambda t: t.name.lower())
    ]


def topic_list(*, viewer: User) -> list[dict[str, Any]]:
    """What the customer page offers to pick, each with its team (and whether that team
    is open now) and the skills it asks for."""
    teams = directory()
    now = common.routing_now()
    rows = []
    for topic in teams.topics.values():
        team = teams.team(topic.team_id)
        rows.append(
            {
                "key": topic.key,
                "label": topic.label,
                "team": None
                if team is None
                else {**team.brief(), "open": team.schedule.is_open(now)},
                "required_skills": topic.required_skills,
            }
        )
    return rows


def offline_message_list(*, viewer: User, team_id: str | None = None) -> list[dict[str, Any]]:
    """The newest messages customers left while their team was closed (agents and
    admins), at most ``OFFLINE_MESSAGES_MAX``."""
    found = OfflineMessage.objects.all()
    if team_id is not None:
        found = found.filter(team_id=_team_id(team_id))
    return [
        offline_message_dto(left) for left in found.order_by("-created_at")[:OFFLINE_MESSAGES_MAX]
    ]
