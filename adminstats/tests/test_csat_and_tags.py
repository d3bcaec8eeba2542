"""Satisfaction and tags in the statistics (issue 16; docs/stats.md): the CSAT score is
the share of ratings that are 4 or 5 and the response rate the share of closed rooms
rated, over the rooms closed in the window, overall and per agent (the one holding the
room at its close); tags count the rooms created in the window that carry each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adminstats import selectors
from adminstats.management.commands.chat_stats import table
from adminstats.tests.factories import RoomStory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def closed_room(customer, agent, hours_ago: float, *, score=None, tags=()):
    t = NOW - hours_ago * H
    story = RoomStory(customer, t).assign(agent, t + 0.1 * H).close(agent, t + 0.5 * H)
    if score is not None:
        story.rate(score, t + 0.6 * H)
    return story.tag(*tags) if tags else story


def test_csat_overall_and_per_agent(customer, other_customer, agent, other_agent):
    a1, a2 = agent, other_agent
    closed_room(customer, a1, 2, score=5, tags=("billing", "vip"))
    closed_room(other_customer, a1, 3, score=4, tags=("billing",))
    closed_room(customer, a1, 4, score=2)
    closed_room(other_customer, a1, 5)  # not rated
    closed_room(customer, a2, 6, score=3, tags=("refund",))
    closed_room(customer, a2, 30, score=5, tags=("billing",))  # closed before the window
    RoomStory(other_customer, NOW - H).tag("vip")  # open, created in the window
    stats = selectors.chat_stats(now=NOW, use_cache=False)
    csat = stats["window"]["csat"]
    assert csat == {
        "rooms_closed": 5,
        "rated": 4,
        "positive": 2,
        "score": 0.5,
        "response_rate": 0.8,
    }
    per_agent = {row["username"]: row["csat"] for row in stats["agents"]}
    assert per_agent["agent1"] == {
        "rooms_closed": 4,
        "rated": 3,
        "positive": 2,
        "score": 0.6667,
        "response_rate": 0.75,
    }
    assert (per_agent["agent2"]["score"], per_agent["agent2"]["response_rate"]) == (0.0, 1.0)
    assert stats["window"]["tags"] == [
        {"tag": "billing", "rooms": 2},
        {"tag": "vip", "rooms": 2},
        {"tag": "refund", "rooms": 1},
    ]
    lines = "\n".join(table(stats))
    assert "CSAT (4 or 5)" in lines
    assert "billing" in lines


def test_no_ratings_no_score(customer, agent):
    closed_room(customer, agent, 2)
    csat = selectors.chat_stats(now=NOW, use_cache=False)["window"]["csat"]
    assert (csat["score"], csat["response_rate"]) == (None, 0.0)
