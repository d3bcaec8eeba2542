"""GET /api/admin/chat-stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from adminstats.tests.factories import RoomStory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/admin/chat-stats"


@pytest.mark.parametrize(
    ("who", "expected"), [(None, 401), ("alice", 403), ("agent1", 403), ("admin", 200)]
)
def test_only_admins_read_the_stats(api, customer, agent, support_admin, who, expected):
    if who:
        api.login(who)
    response = api.get(URL)
    assert response.status_code == expected
    if expected != 200:
        assert response.json()["error"]["code"] == (
            "not_authenticated" if who is None else "permission_denied"
        )


def test_default_window_is_the_last_day(api, support_admin, customer, agent):
    now = timezone.now()
    RoomStory(customer, now - timedelta(hours=2)).assign(agent, now - timedelta(hours=1))
    RoomStory(customer, now - timedelta(hours=30))
    api.login("admin")
    body = api.get(URL).json()
    assert set(body) == {"generated_at", "now", "window", "agents", "teams"}
    assert body["teams"] == []  # no team configured
    assert body["window"]["rooms_created"] == 1
    assert body["window"]["wait_seconds"]["median"] == 3600.0
    assert body["now"]["rooms"] == {"queued": 1, "active": 1, "closed": 0}
    [row] = body["agents"]
    assert row["username"] == "agent1"
    assert set(row) == {
        "id",
        "username",
        "display_name",
        "is_active",
        "status",
        "accepting_chats",
        "online",
        "active_chats",
        "max_chats",
        "rooms_closed",
        "messages_sent",
        "first_response_seconds",
        "csat",
    }


def test_explicit_window(api, support_admin, customer):
    now = timezone.now()
    RoomStory(customer, now - timedelta(hours=30))
    api.login("admin")
    start = (now - timedelta(hours=31)).isoformat()
    end = (now - timedelta(hours=29)).isoformat()
    response = api.get(URL, {"from": start, "to": end})
    assert response.status_code == 200, response.content
    window = response.json()["window"]
    assert window["rooms_created"] == 1
    assert window["from"].endswith("Z")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-13-01T00:00:00Z"},
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
    ],
)
def test_bad_windows_are_validation_errors(api, support_admin, params):
    api.login("admin")
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "9999-12-31T00:00:00Z"},
        {"to": "0001-01-01T00:00:00Z"},
        {"from": "0001-01-01T00:00:00+01:00"},
        {"to": "9999-12-31T23:59:59-10:00"},
        {"from": "1970-01-01T00:00:00Z"},
        {"from": "2106-02-07T06:28:15Z", "to": "2106-02-07T07:28:15Z"},
    ],
)
def test_times_out_of_range_are_validation_errors_not_500(api, support_admin, params):
    """Issue 18: from=9999-12-31T00:00:00Z was a 500 (``date value out of range`` when
    the default day was added; ObjectIds cannot hold such times either)."""
    api.login("admin")
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["details"]["fields"]) <= {"from", "to"}


def test_chat_stats_command_refuses_times_out_of_range(support_admin):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="2100-01-01"):
        call_command("chat_stats", "--from", "9999-12-31T00:00:00Z")


def test_naive_times_are_utc(api, support_admin):
    api.login("admin")
    response = api.get(URL, {"from": "2026-03-01T00:00:00", "to": "2026-03-01T06:00:00"})
    assert response.status_code == 200
    assert response.json()["window"]["to"] == "2026-03-01T06:00:00.000Z"
