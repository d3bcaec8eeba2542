"""Creating and changing teams outside the Django admin (``manage.py create_team``,
the demo data, the benchmark's seed): the same models and checks as the admin's forms
(``Team.full_clean``), and every change tells routing to read its directory again (the
model receivers, ``agents.receivers``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from django.core.exceptions import ValidationError

from accounts.models import Role, User
from agents.models import Team, TeamHoliday, TeamHours, TeamMember
from chat_project.errors import NotFound, ValidationFailed


def team_create(
    *,
    name: str,
    members: Iterable[str] = (),
    time_zone: str | None = None,
    hours: list[tuple[int, time, time]] | None = None,
    holidays: Iterable[date] | None = None,
    offline_message: str | None = None,
    overflow_after_seconds: int | None = None,
    fallback: str | None = None,
    description: str | None = None,
    listed: bool | None = None,
    ring_no_answer_seconds: int | None = None,
    first_response_seconds: int | None = None,
    resolution_seconds: int | None = None,
    email: str | None = None,
) -> tuple[Team, bool]:
    """Create the team ``name`` or change the settings given (members are added; hours
    and holidays, when given, replace the old ones). ``(team, created)``."""
    team, created = Team.objects.get_or_create(name=name)
    changes = {
        "time_zone": time_zone,
        "offline_message": offline_message,
        "description": description,
        "listed": listed,
        "ring_no_answer_seconds": ring_no_answer_seconds,
        "first_response_seconds": first_response_seconds,
        "resolution_seconds": resolution_seconds,
        "email": email,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(team, field, value)
    if fallback is not None:
        team.fallback = Team.objects.filter(name=fallback).first()
        if team.fallback is None:
            raise NotFound(f"No team {fallback!r}.")
        team.overflow_after_seconds = overflow_after_seconds
    try:
        team.full_clean()
    except ValidationError as exc:
        if created:
            team.delete()
        raise ValidationFailed(details={"fields": exc.message_dict}) from None
    team.save()
    agents = {u.username: u for u in User.objects.filter(username__in=list(members))}
    for username in members:
        agent = agents.get(username)
        if agent is None or agent.role != Role.AGENT:
            raise NotFound(f"No agent {username!r}.")
        TeamMember.objects.get_or_create(team=team, agent=agent)
    if hours is not None:
        TeamHours.objects.filter(team=team).delete()
        TeamHours.objects.bulk_create(
            [TeamHours(team=team, weekday=d, opens=o, closes=c) for d, o, c in hours]
        )
    if holidays is not None:
        TeamHoliday.objects.filter(team=team).delete()
        TeamHoliday.objects.bulk_create([TeamHoliday(team=team, date=day) for day in holidays])
    from agents.directory import directory_changed
    from agents.services.queue import queue_drain

    directory_changed()  # bulk_create sends no post_save
    queue_drain()  # new hours may open the team
    return team, created
