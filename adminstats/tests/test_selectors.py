"""The statistics against a constructed data set whose every figure is known
(docs/stats.md gives the definitions checked here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import presence
from adminstats import selectors
from adminstats.tests.factories import RoomStory
from chat_project.errors import ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = timedelta(seconds=1)


@pytest.fixture
def world(customer, other_customer, agent, other_agent, support_admin):
    """Eleven rooms around the window [NOW - 24 h, NOW). a1 = agent1, a2 = agent2."""
    a1, a2, alice, bob = agent, other_agent, customer, other_customer
    t = NOW - 2 * H  # R1: wait 60, first response 30 (a1), closed by a1 after 3600
    r1 = RoomStory(alice, t).assign(a1, t + 60 * S).message(alice, t + 70 * S)
    r1.message(a1, t + 90 * S).message(a1, t + 100 * S).close(a1, t + H)
    t = NOW - 3 * H  # R2: wait 120, first response 90 (a2), resolution 5400
    r2 = RoomStory(bob, t).assign(a2, t + 120 * S).message(a2, t + 210 * S)
    r2.close(bob, t + 5400 * S)
    t = NOW - 30 * H  # R3: assigned and answered before the window, closed inside (10 h)
    r3 = RoomStory(alice, t).assign(a1, t + 10 * S).message(a1, t + 20 * S)
    r3.close(a1, t + 10 * H)
    t = NOW - 5 * H  # R4: wait 300; moved to a2 at +400, who answers at +460: 60 (a2)
    r4 = RoomStory(bob, t).assign(a1, t + 300 * S).transfer(a2, t + 400 * S)
    r4.message(bob, t + 430 * S).message(a2, t + 460 * S)
    t = NOW - 4 * H  # R5: wait 30; requeued, re-assigned to a2 at +900 (not a wait), 60 (a2)
    r5 = RoomStory(alice, t).assign(a1, t + 30 * S).requeue(t + 600 * S)
    r5.assign(a2, t + 900 * S).message(a2, t + 960 * S)
    r6 = RoomStory(bob, NOW - H)  # R6, R7: still queued; the oldest waits 3600 s
    r7 = RoomStory(alice, NOW - 10 * 60 * S)
    t = NOW - 6 * H  # R8: closed by its customer while queued, after 3600
    r8 = RoomStory(bob, t).message(bob, t + S).close(bob, t + H)
    t = NOW - 25 * H  # R9: created before the window, first assigned inside: wait 3660
    r9 = RoomStory(alice, t).assign(a2, t + 3660 * S)
    t = NOW - 7 * H  # R10: wait 60, a1 answers after 40, then hands it to a2 (after the reply)
    r10 = RoomStory(bob, t).assign(a1, t + 60 * S).message(a1, t + 100 * S)
    r10.transfer(a2, t + 500 * S)
    t = NOW - 28 * H  # R11: first assigned before the window; requeued, re-assigned inside
    r11 = RoomStory(alice, t).assign(a1, t + H).requeue(t + 2 * H).assign(a2, t + 8 * H)
    # After the window: counted nowhere in it.
    RoomStory(bob, NOW + 60 * S).assign(a1, NOW + 61 * S).message(a1, NOW + 62 * S)
    rooms = [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11]
    return {"rooms": rooms, "a1": a1, "a2": a2}


def agent_row(stats, agent):
    return next(row for row in stats["agents"] if row["id"] == str(agent.pk))


def test_figures_of_the_constructed_data_set(world):
    a1, a2 = world["a1"], world["a2"]
    presence.lease_touch(user_id=str(a1.pk), conn_id="c", ttl_seconds=60)
    presence.lease_touch(user_id=str(world["rooms"][0].customer.pk), conn_id="c", ttl_seconds=60)

    stats = selectors.chat_stats(now=NOW, use_cache=False)

    assert stats["now"] == {
        "rooms": {"queued": 2, "active": 6, "closed": 4},  # R4 R5 R9 R10 R11, the later one
        "queue": {
            "length": 2,
            "longest_wait_seconds": 3600.0,
            "oldest_queued_at": "2026-03-10T11:00:00.000Z",
        },
        "online": {"customers": 1, "agents": 1, "admins": 0},
    }
    window = stats["window"]
    assert window["from"] == "2026-03-09T12:00:00.000Z"
    assert window["to"] == "2026-03-10T12:00:00.000Z"
    assert window["rooms_created"] == 8  # R1 R2 R4 R5 R6 R7 R8 R10
    assert window["rooms_closed"] == 4  # R1 R2 R3 R8
    assert window["rooms_closed_unassigned"] == 1  # R8
    # R1: 3, R2: 1, R4: 2, R5: 1, R8: 1, R10: 1 (R3's are before the window, the last
    # room's after)
    assert window["messages_sent"] == 9
    assert window["agent_messages_sent"] == 6
    # R1 60, R2 120, R4 300, R5 30, R9 3660, R10 60 (not R5's or R11's re-assignments):
    # sorted 30, 60, 60, 120, 300, 3660: median rank 3, p90 rank 6
    assert window["wait_seconds"] == {"count": 6, "median": 60.0, "p90": 3660.0}
    # R1 30, R2 90, R4 60, R5 60, R10 40: sorted 30, 40, 60, 60, 90: ranks 3 and 5
    assert window["first_response_seconds"] == {"count": 5, "median": 60.0, "p90": 90.0}
    # sorted 3600, 3600, 5400, 36000: median rank 2, p90 rank 4
    assert window["resolution_seconds"] == {"count": 4, "median": 3600.0, "p90": 36000.0}

    row1, row2 = agent_row(stats, a1), agent_row(stats, a2)
    assert row1["online"] is True
    assert row2["online"] is False
    assert (row1["rooms_closed"], row2["rooms_closed"]) == (2, 1)  # R1 R3; R2
    assert (row1["messages_sent"], row2["messages_sent"]) == (3, 3)
    assert row1["first_response_seconds"] == {"count": 2, "median": 30.0, "p90": 40.0}
    assert row2["first_response_seconds"] == {"count": 3, "median": 60.0, "p90": 90.0}
    assert set(row1) >= {"status", "accepting_chats", "active_chats", "max_chats"}


def test_an_explicit_window(world):
    stats = selectors.chat_stats(
        start=NOW - 3 * H - S, end=NOW - 90 * 60 * S, now=NOW, use_cache=False
    )
    window = stats["window"]
    assert window["rooms_created"] == 2  # R2 at NOW - 3 h, R1 at NOW - 2 h
    assert window["rooms_closed"] == 0  # R2 closes at exactly NOW - 90 min: end is open


def test_series_match_the_stories(world):
    series = selectors.chat_series(now=NOW, use_cache=False)
    rooms = world["rooms"]
    hours = [NOW - 23 * H + i * H for i in range(24)]
    assert series["hours"][0] == "2026-03-09T13:00:00.000Z"

    def in_hour(moment, hour):
        return moment is not None and hour <= moment < hour + H

    assert series["created_per_hour"] == [
        sum(in_hour(r.created_at, h) for r in rooms) for h in hours
    ]
    assert series["closed_per_hour"] == [
        sum(in_hour(r.fields.get("closed_at"), h) for r in rooms) for h in hours
    ]
    points = series["queue_length"]
    assert points[-1] == {"at": "2026-03-10T12:00:00.000Z", "length": 2}
    for point in points[:-1]:
        moment = datetime.fromisoformat(point["at"])
        expected = sum(r.queued_at_instant(moment) for r in rooms)
        assert point["length"] == expected, point
    assert max(p["length"] for p in points) >= 1


def test_the_window_is_validated():
    with pytest.raises(ValidationFailed):
        selectors.stats_window(start=NOW, end=NOW, now=NOW)
    with pytest.raises(ValidationFailed):
        selectors.stats_window(start=NOW - timedelta(days=400), end=NOW, now=NOW)
    with pytest.raises(ValidationFailed):
        selectors.stats_window(start=datetime(2026, 1, 1), end=None, now=NOW)  # noqa: DTZ001
    assert selectors.stats_window(start=None, end=NOW, now=NOW) == (NOW - 24 * H, NOW)
    assert selectors.stats_window(start=NOW, end=None, now=NOW) == (NOW, NOW + 24 * H)


def test_results_are_cached_for_a_few_seconds(world, settings):
    settings.STATS_CACHE_SECONDS = 60
    first = selectors.chat_stats(now=NOW)
    RoomStory(world["rooms"][0].customer, NOW - H)
    assert selectors.chat_stats(now=NOW) == first
    assert selectors.chat_stats(now=NOW, use_cache=False)["now"]["rooms"]["queued"] == 3
