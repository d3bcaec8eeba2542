import time
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts import presence
from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_agent_is_idempotent():
    first = run("create_agent", "agent9", "--password", "long-enough-pass-9", "--max-chats", "3")
    assert "created agent agent9" in first
    again = run("create_agent", "agent9", "--password", "long-enough-pass-9")
    assert "exists; unchanged" in again
    agent = User.objects.get(username="agent9")
    assert agent.role == "agent"
    assert agent.max_chats == 3
    assert agent.check_password("long-enough-pass-9")


def test_cleanup_sessions_removes_expired_sessions_and_stale_presence(customer):
    from django.contrib.sessions.backends.cached_db import SessionStore

    live = SessionStore()
    live["k"] = 1
    live.create()
    dead = SessionStore()
    dead["k"] = 2
    dead.create()
    Session.objects.filter(session_key=dead.session_key).update(
        expire_date=timezone.now() - timezone.timedelta(days=1)
    )
    presence.lease_touch(user_id="u-stale", conn_id="c", ttl_seconds=0.001)
    presence.lease_touch(user_id="u-live", conn_id="c", ttl_seconds=60)
    time.sleep(0.01)

    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    redis.hset("typing:r1:u1", mapping={"seen": 1000, "sent": 1000})  # no expiry: stale
    redis.hset("typing:r2:u2", mapping={"seen": int(time.time() * 1000), "sent": 0})

    output = run("cleanup_sessions")

    assert "expired sessions removed: 1" in output
    assert "stale presence entries removed: 1" in output
    assert "stale typing entries removed: 1" in output
    assert not redis.exists("typing:r1:u1")
    assert redis.exists("typing:r2:u2")
    assert Session.objects.filter(session_key=live.session_key).exists()
    assert not Session.objects.filter(session_key=dead.session_key).exists()
    assert presence.online_user_ids() == {"u-live"}
    assert "removed: 0" in run("cleanup_sessions").splitlines()[0]


def test_demo_data_is_idempotent():
    first = run("demo_data")
    assert "created agent1" in first
    assert User.objects.get(username="admin").is_staff
    assert User.objects.get(username="agent3").role == "agent"
    assert User.objects.get(username="alice").check_password("chat-demo-2026")
    second = run("demo_data")
    assert "created" not in second
    assert (
        User.objects.filter(
            username__in=["admin", "agent1", "agent2", "agent3", "alice", "bob"]
        ).count()
        == 6
    )


def test_changepassword_closes_the_users_sockets(customer, monkeypatch):
    """Issue 28: with publishing moved out of ``User.save``, Django's own command must
    still end the user's sockets."""
    sent = []
    monkeypatch.setattr(
        "accounts.events.user_access_changed",
        lambda *, user_id, reason: sent.append((user_id, reason)),
    )
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.Command._get_pass",
        lambda self, prompt=None: "another-long-pass-77",
    )
    assert "Password changed successfully" in run("changepassword", "alice")
    assert User.objects.get(pk=customer.pk).check_password("another-long-pass-77")
    assert sent == [(customer.pk, "password_changed")]


def test_changepassword_writes_the_password_alone(customer, monkeypatch):
    """What changed while the command waited at its prompt (routing's counters, an
    admin's edit) is not written back with the values the command loaded."""

    def prompt_while_it_changes(self, prompt=None):
        User.objects.filter(pk=customer.pk).update(display_name="Changed meanwhile")
        return "another-long-pass-78"

    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.Command._get_pass",
        prompt_while_it_changes,
    )
    assert "Password changed successfully" in run("changepassword", "alice")
    saved = User.objects.get(pk=customer.pk)
    assert saved.check_password("another-long-pass-78")
    assert saved.display_name == "Changed meanwhile"


def test_changepassword_refuses_a_weak_password_three_times(customer, monkeypatch):
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.Command._get_pass",
        lambda self, prompt=None: "123",
    )
    with pytest.raises(CommandError, match="after 3 attempts"):
        run("changepassword", "alice")
    assert User.objects.get(pk=customer.pk).check_password("123") is False
