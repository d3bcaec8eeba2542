"""The statistics cost a fixed number of database commands, whatever the number of
rooms and messages (counted at the pymongo level: the ORM's query counter does not
see raw aggregates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adminstats import selectors
from adminstats.tests.factories import RoomStory
from agents.directory import directory
from tests.mongo_commands import mongo_commands

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def add_rooms(n, *, customers, agents):
    """n rooms spread over the last day: assigned, answered, most closed."""
    for i in range(n):
        created = NOW - timedelta(minutes=10 + 7 * i)
        agent = agents[i % len(agents)]
        story = RoomStory(customers[i % len(customers)], created)
        story.assign(agent, created + timedelta(seconds=30 + i))
        story.message(story.customer, created + timedelta(seconds=40 + i))
        story.message(agent, created + timedelta(seconds=60 + 2 * i))
        if i % 3:
            story.close(agent, created + timedelta(minutes=5))


def test_cost_does_not_grow_with_rooms(monkeypatch, make_user):
    customers = [make_user(username=f"c{i}", role="user") for i in range(3)]
    agents = [make_user(username=f"a{i}", role="agent") for i in range(2)]

    def measure():
        with mongo_commands(monkeypatch) as calls:
            stats = selectors.chat_stats(now=NOW, use_cache=False)
            series = selectors.chat_series(now=NOW, use_cache=False)
        return list(calls), stats, series

    add_rooms(12, customers=customers, agents=agents)
    directory()  # routing's teams: read once per process and cached (agents.directory)
    small, stats_n, _series_n = measure()
    add_rooms(12, customers=customers, agents=agents)
    large, stats_2n, series_2n = measure()

    assert stats_2n["window"]["rooms_created"] == 2 * stats_n["window"]["rooms_created"] == 24
    assert sum(series_2n["created_per_hour"]) == 24
    assert large == small
    # stats: agents (ORM), rooms, events (users only when someone is online);
    # series: rooms now, rooms per bucket, events per bucket.
    assert len(small) == 6, small


def test_cached_stats_cost_no_command(monkeypatch, settings, support_admin):
    settings.STATS_CACHE_SECONDS = 60
    selectors.chat_stats(now=NOW)
    with mongo_commands(monkeypatch) as calls:
        selectors.chat_stats(now=NOW)
    assert calls == []
