"""Routing's view of teams, skills, schedules and topics (issue 15), read whole and kept
per process.

Teams change rarely and routing reads them on every pass, so a process keeps one
:class:`Directory` and reads it again only when the shared version (a Redis key, a
fresh random token on every change: ``directory_changed``, called by the model
receivers in ``agents.receivers``) is not the one it read. A pass costs one Redis
``GET``; a change costs the next pass one read per model (seven small collections).
With no team configured the directory is empty and routing is the single pool of
before (README "Routing").
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from django_redis import get_redis_connection

from agents import skills as skill_rules
from agents.hours import Schedule

VERSION_KEY = "routing:directory:version"


@dataclass(frozen=True)
class TeamInfo:
    id: ObjectId
    name: str
    description: str
    listed: bool
    timezone: str
    offline_message: str
    overflow_after_seconds: int | None
    fallback_id: ObjectId | None
    schedule: Schedule
    # Issue 30 (null: the setting's default; 0: off) and where offline messages go.
    ring_no_answer_seconds: int | None = None
    first_response_seconds: int | None = None
    resolution_seconds: int | None = None
    email: str = ""

    def brief(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name}


@dataclass(frozen=True)
class TopicInfo:
    key: str
    label: str
    team_id: ObjectId | None
    required_skills: list[dict[str, Any]]


@dataclass
class Directory:
    teams: dict[ObjectId, TeamInfo] = field(default_factory=dict)
    # agent id -> the teams they are in; team id -> its members
    teams_of: dict[ObjectId, frozenset[ObjectId]] = field(default_factory=dict)
    members: dict[ObjectId, frozenset[ObjectId]] = field(default_factory=dict)
    # agent id -> {skill name: level or None}
    skills_of: dict[ObjectId, dict[str, int | None]] = field(default_factory=dict)
    skill_names: frozenset[str] = frozenset()
    topics: dict[str, TopicInfo] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        """Whether any team exists (otherwise routing is the one pool of before)."""
        return bool(self.teams)

    def team(self, team_id: object | None) -> TeamInfo | None:
        return self.teams.get(team_id) if isinstance(team_id, ObjectId) else None

    def is_open(self, team_id: ObjectId | None, at: datetime) -> bool:
        """The general queue (no team) and an unknown team (deleted) are always open."""
        team = self.team(team_id)
        return team is None or team.schedule.is_open(at)

    def serves(self, agent_id: ObjectId, team_id: ObjectId | None) -> bool:
        """Whether the agent may take rooms of that queue: everyone serves the general
        queue, members serve their team's (a deleted team's rooms: everyone)."""
        if team_id is None or team_id not in self.teams:
            return True
        return team_id in self.teams_of.get(agent_id, ())

    def fits(self, agent_id: ObjectId, *, team_id: ObjectId | None, needs: Iterable) -> bool:
        """Team and skills (the rest of eligibility is ``agents.services.eligibility``)."""
        return self.serves(agent_id, team_id) and skill_rules.holds(
            self.skills_of.get(agent_id, {}), needs
        )


_lock = threading.Lock()
_cached: tuple[str, Directory] | None = None


def _version(client) -> str:
    value = client.get(VERSION_KEY)
    return value.decode() if value else "none"


def directory() -> Directory:
    """The current directory (read again when another process or thread changed it)."""
    global _cached
    version = _version(get_redis_connection("default"))
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    loaded = _load()
    with _lock:
        _cached = (version, loaded)
    return loaded


def directory_changed() -> None:
    """Every process reads the directory again before its next use."""
    global _cached
    get_redis_connection("default").set(VERSION_KEY, uuid.uuid4().hex)
    with _lock:
        _cached = None


def _load() -> Directory:
    from agents.models import AgentSkill, Skill, Team, TeamHoliday, TeamHours, TeamMember, Topic

    hours: dict[ObjectId, list] = {}
    for team_id, weekday, opens, closes in TeamHours.objects.values_list(
        "team_id", "weekday", "opens", "closes"
    ):
        hours.setdefault(team_id, []).append((weekday, opens, closes))
    holidays: dict[ObjectId, list] = {}
    for team_id, day in TeamHoliday.objects.values_list("team_id", "date"):
        holidays.setdefault(team_id, []).append(day)
    teams = {
        team.pk: TeamInfo(
            id=team.pk,
            name=team.name,
            description=team.description,
            listed=team.listed,
            timezone=team.time_zone,
            offline_message=team.offline_message,
            overflow_after_seconds=team.overflow_after_seconds,
            fallback_id=team.fallback_id,
            ring_no_answer_seconds=team.ring_no_answer_seconds,
            first_response_seconds=team.first_response_seconds,
            resolution_seconds=team.resolution_seconds,
            email=team.email,
            schedule=Schedule.build(
                timezone=team.time_zone,
                intervals=hours.get(team.pk, ()),
                holidays=holidays.get(team.pk, ()),
            ),
        )
        for team in Team.objects.all()
    }
    teams_of: dict[ObjectId, set[ObjectId]] = {}
    members: dict[ObjectId, set[ObjectId]] = {}
    for team_id, agent_id in TeamMember.objects.values_list("team_id", "agent_id"):
        teams_of.setdefault(agent_id, set()).add(team_id)
        members.setdefault(team_id, set()).add(agent_id)
    names = dict(Skill.objects.values_list("pk", "name"))
    skills_of: dict[ObjectId, dict[str, int | None]] = {}
    for agent_id, skill_id, level in AgentSkill.objects.values_list(
        "agent_id", "skill_id", "level"
    ):
        if skill_id in names:
            skills_of.setdefault(agent_id, {})[names[skill_id]] = level
    topics = {}
    for topic in Topic.objects.all():
        try:
            needs = skill_rules.parse_requirements(topic.skills)
        except ValueError:
            needs = []  # refused by the admin form; never routes on garbage
        topics[topic.key] = TopicInfo(
            key=topic.key, label=topic.label, team_id=topic.team_id, required_skills=needs
        )
    return Directory(
        teams=teams,
        teams_of={k: frozenset(v) for k, v in teams_of.items()},
        members={k: frozenset(v) for k, v in members.items()},
        skills_of=skills_of,
        skill_names=frozenset(names.values()),
        topics=topics,
    )
