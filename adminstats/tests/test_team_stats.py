"""Statistics per team (issue 15): wait, first response, resolution, overflows and
rooms created outside hours, each room counted for the team it is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adminstats import selectors
from adminstats.tests.factories import RoomStory
from agents import services as routing

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_figures_per_team(make_user):
    customer = make_user(username="c", role="user")
    agent = make_user(username="a", role="agent")
    billing, _ = routing.team_create(name="Billing", members=["a"])
    tech, _ = routing.team_create(name="Tech", overflow_after_seconds=60, fallback="Billing")
    start = NOW - timedelta(hours=3)

    # Billing: two rooms (one created while closed), waits 30 s and 90 s, one closed
    # after 20 minutes, the first answered 10 s after its assignment.
    first = RoomStory(customer, start, team_id=billing.pk, created_offline=True)
    first.assign(agent, start + timedelta(seconds=30))
    first.message(agent, start + timedelta(seconds=40))
    first.close(agent, start + timedelta(minutes=20))
    first.rate(5, start + timedelta(minutes=21))
    second = RoomStory(customer, start + timedelta(minutes=1), team_id=billing.pk)
    second.assign(agent, start + timedelta(minutes=1, seconds=90))
    # Tech: one room that overflowed to Billing after 61 s (it counts for Billing now),
    # and one that still waits.
    moved = RoomStory(customer, start + timedelta(minutes=5), team_id=tech.pk)
    moved.overflow(billing.pk, start + timedelta(minutes=6, seconds=1))
    RoomStory(customer, NOW - timedelta(minutes=2), team_id=tech.pk, created_offline=True)
    RoomStory(customer, start + timedelta(minutes=7))  # the general queue

    stats = selectors.chat_stats(now=NOW, use_cache=False)

    teams = {row["name"]: row for row in stats["teams"]}
    assert list(teams) == ["General (no team)", "Billing", "Tech"]
    b, t, g = teams["Billing"], teams["Tech"], teams["General (no team)"]
    assert (b["rooms_created"], b["rooms_created_outside_hours"]) == (3, 1)
    assert (t["rooms_created"], t["rooms_created_outside_hours"]) == (1, 1)
    assert g["rooms_created"] == 1
    assert b["wait_seconds"] == {"count": 2, "median": 30.0, "p90": 90.0}
    assert b["first_response_seconds"] == {"count": 1, "median": 10.0, "p90": 10.0}
    assert b["resolution_seconds"] == {"count": 1, "median": 1200.0, "p90": 1200.0}
    assert (b["csat"]["rooms_closed"], b["csat"]["rated"], b["csat"]["score"]) == (1, 1, 1.0)
    assert (t["csat"]["rated"], t["csat"]["score"]) == (0, None)
    assert (t["overflows"], b["overflows"], g["overflows"]) == (1, 0, 0)
    assert (b["queue"]["length"], t["queue"]["length"], g["queue"]["length"]) == (1, 1, 1)
    assert t["queue"]["longest_wait_seconds"] == 120.0
    assert t["wait_seconds"]["count"] == 0
    assert (b["id"], g["id"]) == (str(billing.pk), None)
    # the totals are the sum of the teams
    assert stats["window"]["rooms_created"] == 5
    assert stats["window"]["wait_seconds"]["count"] == 2
