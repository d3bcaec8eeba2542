"""Chat statistics for support managers: ``GET /api/admin/chat-stats``, the admin
dashboard and ``manage.py chat_stats`` all read these. Definitions: docs/stats.md.

The database computes the figures (``adminstats.queries``: a fixed number of
aggregation commands whatever the data size); this module only names them, adds the
presence counts (Redis) and caches the result for ``STATS_CACHE_SECONDS``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts import presence
from accounts.models import Role, User
from adminstats import queries
from agents.directory import directory
from chat_project.errors import ValidationFailed
from chat_project.timefmt import iso_ms

DEFAULT_WINDOW = timedelta(hours=24)
# The times a window may start or end at: a day inside what an ObjectId's 32-bit
# timestamp holds (rooms and events are found by the time in their ids), with room
# for the default day and STATS_ID_SLACK_SECONDS on either side.
EARLIEST = datetime(1970, 1, 3, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Between 1970-01-03 and 2100-01-01 (UTC)."
SERIES_HOURS = 24
SERIES_BUCKET_MINUTES = 10
_CACHE_PREFIX = "adminstats:"


def _aware(value: datetime | None) -> datetime | None:
    """Raw pymongo reads give naive UTC datetimes."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)


def _durations(summary: dict[str, Any] | None) -> dict[str, Any]:
    summary = summary or {}
    return {
        "count": int(summary.get("count") or 0),
        "median": _seconds(summary.get("median")),
        "p90": _seconds(summary.get("p90")),
    }


def _csat(closed: int, rated: int, positive: int) -> dict[str, Any]:
    """docs/stats.md: the CSAT score is the share of ratings that are 4 or 5; the
    response rate the share of closed rooms that were rated."""
    return {
        "rooms_closed": closed,
        "rated": rated,
        "positive": positive,
        "score": round(positive / rated, 4) if rated else None,
        "response_rate": round(rated / closed, 4) if closed else None,
    }


def stats_window(
    *, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end): the last 24 hours by default; one bound alone means 24 hours from
    or up to it. Refused: naive times, times outside [EARLIEST, LATEST], an empty or
    reversed window, or one longer than ``STATS_MAX_WINDOW_DAYS``."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and timezone.is_naive(value):
            raise ValidationFailed(details={"fields": {name: ["Give a time zone (e.g. Z)."]}})
        # Before the arithmetic below: 9999-12-31 plus a day was a 500 (issue 18).
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationFailed(details={"fields": {name: [OUT_OF_RANGE]}})
    if start is None and end is None:
        end = now
    if start is None:
        start = end - DEFAULT_WINDOW
    if end is None:
        end = start + DEFAULT_WINDOW
    if start >= end:
        raise ValidationFailed(
            "The window is empty.", details={"fields": {"to": ["Must be after from."]}}
        )
    if end - start > timedelta(days=settings.STATS_MAX_WINDOW_DAYS):
        raise ValidationFailed(
            f"The window is at most {settings.STATS_MAX_WINDOW_DAYS} days.",
            details={"fields": {"from": [f"At most {settings.STATS_MAX_WINDOW_DAYS} days."]}},
        )
    return start, end


def _cached(key: str, use_cache: bool, compute):
    if use_cache:
        found = cache.get(_CACHE_PREFIX + key)
        if found is not None:
            return found
    value = compute()
    if use_cache and settings.STATS_CACHE_SECONDS > 0:
        cache.set(_CACHE_PREFIX + key, value, settings.STATS_CACHE_SECONDS)
    return value


def chat_stats(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Every figure of docs/stats.md for the window [start, end) and for right now, as
    plain JSON-ready data. The default window (the last 24 hours) is cached under
    one key, so repeated dashboard loads within ``STATS_CACHE_SECONDS`` share it."""
    now = now or timezone.now()
    explicit = start is not None or end is not None
    start, end = stats_window(start=start, end=end, now=now)
    key = f"stats:{iso_ms(start)}:{iso_ms(end)}" if explicit else "stats:default"
    return _cached(key, use_cache, lambda: _compute(start=start, end=end, now=now))


def _compute(*, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    agents = list(User.objects.filter(role=Role.AGENT))  # a handful: one flat query
    online_ids = presence.online_user_ids()
    rooms = queries.room_counts(start=start, end=end)
    figures = queries.window_figures(start=start, end=end, agent_ids=[a.pk for a in agents])
    online = queries.online_by_role(online_ids)

    messages = {row["_id"]: int(row["n"]) for row in figures["messages"]}
    closed = {row["agent_id"]: int(row["n"]) for row in figures["closed_by_agent"]}
    csat = {
        row["agent_id"]: _csat(int(row["n"]), int(row["rated"]), int(row["positive"]))
        for row in figures["closed_by_agent"]
    }
    overall = _csat(
        sum(closed.values()),
        sum(c["rated"] for c in csat.values()),
        sum(c["positive"] for c in csat.values()),
    )
    first_response = {
        row["agent_id"]: _durations(row["summary"]) for row in figures["first_response_by_agent"]
    }
    oldest = _aware(rooms["oldest_queued_at"])
    longest_wait = max((now - oldest).total_seconds(), 0.0) if oldest else None
    teams = _teams(rooms=rooms, figures=figures, now=now)
    return {
        "generated_at": iso_ms(now),
        "now": {
            "rooms": {
                "queued": rooms["queued"],
                "active": rooms["active"],
                "closed": rooms["closed"],
            },
            "queue": {
                "length": rooms["queued"],
                "longest_wait_seconds": None if longest_wait is None else round(longest_wait, 3),
                "oldest_queued_at": iso_ms(oldest),
            },
            "online": {
                "customers": online.get(Role.USER.value, 0),
                "agents": online.get(Role.AGENT.value, 0),
                "admins": online.get(Role.ADMIN.value, 0),
            },
        },
        "window": {
            "from": iso_ms(start),
            "to": iso_ms(end),
            "rooms_created": rooms["created"],
            "rooms_closed": sum(closed.values()),
            "rooms_closed_unassigned": closed.get(None, 0),
            "messages_sent": sum(messages.values()),
            "agent_messages_sent": sum(n for agent, n in messages.items() if agent is not None),
            "wait_seconds": _durations(figures["wait"]),
            "first_response_seconds": _durations(figures["first_response"]),
            "resolution_seconds": _durations(figures["resolution"]),
            "csat": overall,
            "sla_breaches": _breaches(figures, None),
            "tags": [
                {"tag": tag, "rooms": n}
                for tag, n in sorted(rooms["tags"].items(), key=lambda item: (-item[1], item[0]))
            ],
        },
        "agents": [
            {
                "id": str(agent.pk),
                "username": agent.username,
                "display_name": agent.name,
                "is_active": agent.is_active,
                "status": agent.status,
                "accepting_chats": agent.accepting_chats,
                "online": str(agent.pk) in online_ids,
                "active_chats": agent.active_chats,
                "max_chats": agent.max_chats,
                "rooms_closed": closed.get(agent.pk, 0),
                "messages_sent": messages.get(agent.pk, 0),
                "first_response_seconds": first_response.get(agent.pk, _durations(None)),
                "csat": csat.get(agent.pk, _csat(0, 0, 0)),
            }
            for agent in agents
        ],
        "teams": teams,
    }


def _teams(
    *, rooms: dict[str, Any], figures: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Per team (issue 15), and the general queue (rooms without a team) when teams
    exist: its queue now and the window's figures of the rooms it holds."""
    teams = directory()
    if not teams.configured:
        return []

    def keyed(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        return {row["team_id"]: row for row in rows}

    waits = keyed(figures["wait_by_team"])
    responses = keyed(figures["first_response_by_team"])
    closed = keyed(figures["resolution_by_team"])
    overflows = {row["_id"]: int(row["n"]) for row in figures["overflows"]}
    listed = [(None, "General (no team)")]
    listed += [(t.id, t.name) for t in sorted(teams.teams.values(), key=lambda t: t.name.lower())]
    rows = []
    for team_id, name in listed:
        counts = rooms["by_team"].get(team_id, {})
        oldest = _aware(counts.get("oldest_queued_at"))
        rows.append(
            {
                "id": str(team_id) if team_id else None,
                "name": name,
                "open": teams.is_open(team_id, now),
                "queue": {
                    "length": counts.get("queued", 0),
                    "longest_wait_seconds": (
                        round(max((now - oldest).total_seconds(), 0.0), 3) if oldest else None
                    ),
                },
                "rooms_created": counts.get("created", 0),
                "rooms_created_outside_hours": counts.get("created_offline", 0),
                "overflows": overflows.get(str(team_id), 0) if team_id else 0,
                "wait_seconds": _durations(waits.get(team_id, {}).get("summary")),
                "first_response_seconds": _durations(responses.get(team_id, {}).get("summary")),
                "resolution_seconds": _durations(closed.get(team_id, {}).get("summary")),
                "csat": _team_csat(closed.get(team_id)),
                "sla_breaches": _breaches(figures, team_id or "general"),
            }
        )
    return rows


def _breaches(figures: dict[str, Any], team: object) -> dict[str, int]:
    """SLA breaches in the window per target (issue 30): all (``team`` None), one team's,
    or the general queue's (``"general"``)."""
    counts = {"first_response": 0, "resolution": 0}
    for row in figures.get("sla_breaches", ()):
        key = row["_id"]
        if key.get("target") not in counts:
            continue
        if team is None or (key.get("team") or "general") == (
            "general" if team == "general" else str(team)
        ):
            counts[key["target"]] += int(row["n"])
    return counts


def _team_csat(closed: dict[str, Any] | None) -> dict[str, Any]:
    if closed is None:
        return _csat(0, 0, 0)
    return _csat(int(closed["n"]), int(closed["rated"]), int(closed["positive"]))


# --- the dashboard's charts -----------------------------------------------------------------


def chat_series(*, now: datetime | None = None, use_cache: bool = True) -> dict[str, Any]:
    """The last 24 hours (UTC hours, the current one partial): rooms created and closed
    per hour, and the queue length every 10 minutes, derived from the timeline (no
    samples are recorded): the queue length now, minus every change after the point
    (+1 a room created, -1 its first or a later assignment, +1 a requeue, -1 a room
    closed while queued). See docs/stats.md."""
    now = now or timezone.now()
    return _cached("series", use_cache, lambda: _series(now))


def _series(now: datetime) -> dict[str, Any]:
    step = timedelta(minutes=SERIES_BUCKET_MINUTES)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=SERIES_HOURS - 1)
    end = now + timedelta(microseconds=1)  # the window includes events stamped "now"
    rooms = queries.room_counts(start=first_hour, end=end)
    created = _keyed(queries.room_series(start=first_hour, end=end, minutes=SERIES_BUCKET_MINUTES))
    events = queries.event_series(start=first_hour, end=end, minutes=SERIES_BUCKET_MINUTES)
    assigned, requeued = _keyed(events["assigned"]), _keyed(events["requeued"])
    closed, closed_queued = _keyed(events["closed"]), _keyed(events["closed_queued"])

    buckets: list[datetime] = []
    at = first_hour
    while at < now:
        buckets.append(at)
        at += step
    hours = [first_hour + timedelta(hours=i) for i in range(SERIES_HOURS)]

    def per_hour(counts: dict[datetime, int]) -> list[int]:
        return [
            sum(n for t, n in counts.items() if hour <= t < hour + timedelta(hours=1))
            for hour in hours
        ]

    queue_points: list[tuple[datetime, int]] = [(now, rooms["queued"])]
    length = rooms["queued"]
    for bucket in reversed(buckets):
        delta = (
            created.get(bucket, 0)
            - assigned.get(bucket, 0)
            + requeued.get(bucket, 0)
            - closed_queued.get(bucket, 0)
        )
        length -= delta  # the queue before this bucket's changes
        queue_points.append((bucket, max(length, 0)))
    queue_points.reverse()
    return {
        "generated_at": iso_ms(now),
        "hours": [iso_ms(h) for h in hours],
        "created_per_hour": per_hour(created),
        "closed_per_hour": per_hour(closed),
        "queue_length": [{"at": iso_ms(t), "length": n} for t, n in queue_points],
    }


def _keyed(counts: dict[datetime, int]) -> dict[datetime, int]:
    return {_aware(t): n for t, n in counts.items()}
