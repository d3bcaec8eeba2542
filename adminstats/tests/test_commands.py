"""The operators' manage.py commands: each one's effect, output, idempotency and help.
(cleanup_sessions, create_agent and demo_data have more in accounts/tests/test_commands.py;
route_queue and reconcile_agents in agents/tests/test_api.py.)"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from accounts import presence
from accounts.models import User
from adminstats.tests.factories import RoomStory
from chat import services as chat_services
from chat.models import Room, RoomStatus

pytestmark = pytest.mark.django_db(transaction=True)

COMMANDS = {
    "cleanup_sessions": "accounts",
    "route_queue": "agents",
    "reconcile_agents": "agents",
    "create_agent": "accounts",
    "demo_data": "accounts",
    "chat_stats": "adminstats",
}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(("name", "app"), COMMANDS.items())
def test_every_command_documents_itself(name, app):
    command = load_command_class(app, name)
    text = command.create_parser("manage.py", name).format_help()
    assert len(command.help) > 60
    assert " ".join(command.help.split()[:4]) in " ".join(text.split())


# --- chat_stats ------------------------------------------------------------------------------


@pytest.fixture
def day(customer, agent):
    now = timezone.now()
    story = RoomStory(customer, now - timedelta(hours=3))
    story.assign(agent, now - timedelta(hours=3) + timedelta(seconds=90))
    story.message(agent, now - timedelta(hours=2))
    story.close(agent, now - timedelta(hours=1))
    RoomStory(customer, now - timedelta(minutes=5))
    return now


def test_chat_stats_prints_a_table(day):
    output = run("chat_stats")
    assert "rooms queued / active / closed   1 / 0 / 1" in output
    assert "rooms created                    2" in output
    assert "rooms closed                     1 (0 without an agent)" in output
    assert "1 min 30 s" in output  # the wait
    assert "2 h 00 min" in output  # the resolution
    assert "agent1" in output


def test_chat_stats_json_is_the_api_document(day):
    document = json.loads(run("chat_stats", "--json"))
    assert set(document) == {"generated_at", "now", "window", "agents", "teams"}
    assert document["window"]["wait_seconds"] == {"count": 1, "median": 90.0, "p90": 90.0}
    assert document["now"]["queue"]["length"] == 1


def test_chat_stats_window_options(day):
    start = (day - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")  # no zone: UTC
    document = json.loads(run("chat_stats", "--json", "--from", start))
    assert document["window"]["rooms_created"] == 1
    assert document["window"]["from"].startswith(start)


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "last tuesday"),
        ("--from", "2026-03-02T00:00Z", "--to", "2026-03-01T00:00Z"),
    ],
)
def test_chat_stats_refuses_bad_windows(args):
    with pytest.raises(CommandError):
        run("chat_stats", *args)


def test_chat_stats_is_read_only(day):
    before = list(Room.objects.values_list("pk", "status", "last_seq"))
    run("chat_stats")
    run("chat_stats")
    assert list(Room.objects.values_list("pk", "status", "last_seq")) == before


# --- the other commands: effect, output, idempotency ------------------------------------------


def test_route_queue_is_idempotent(customer, agent):
    dto, _ = chat_services.room_create(customer=customer, subject="help")
    presence.lease_touch(user_id=str(agent.pk), conn_id="c", ttl_seconds=300)

    assert run("route_queue") == "queued before: 1; assigned: 1; still queued: 0\n"
    assert Room.objects.get(pk=dto["id"]).status == RoomStatus.ACTIVE
    assert run("route_queue") == "queued before: 0; assigned: 0; still queued: 0\n"


def test_route_queue_leaves_rooms_queued_without_agents(customer):
    chat_services.room_create(customer=customer, subject="help")
    assert run("route_queue") == "queued before: 1; assigned: 0; still queued: 1\n"


def test_reconcile_agents_with_nothing_to_fix(agent):
    assert run("reconcile_agents") == "agents repaired: 0\n"


def test_create_agent_admin_role_and_bad_password():
    output = run("create_agent", "boss", "--password", "long-enough-pass-9", "--role", "admin")
    assert "created admin boss" in output
    assert User.objects.get(username="boss").is_staff
    with pytest.raises(CommandError):
        run("create_agent", "weak", "--password", "123")
    assert not User.objects.filter(username="weak").exists()


def test_demo_data_reports_each_login():
    first = run("demo_data").splitlines()
    assert first[:6] == [
        "created admin",
        "created agent1",
        "created agent2",
        "created agent3",
        "created alice",
        "created bob",
    ]
    assert first[-1] == "demo password: chat-demo-2026"
    assert run("demo_data").splitlines()[0] == "exists  admin"


def test_cleanup_sessions_twice_removes_nothing_the_second_time():
    presence.lease_touch(user_id="u-stale", conn_id="c", ttl_seconds=0.001)
    time.sleep(0.01)
    first = run("cleanup_sessions")
    assert "stale presence entries removed: 1" in first
    assert run("cleanup_sessions") == (
        "expired sessions removed: 0\nstale presence entries removed: 0\n"
        "stale typing entries removed: 0\n"
    )
