"""accounts.services: what a change of a user's rights publishes (issue 28, item 2)."""

import pytest

from accounts import services
from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("chat_project.fanout.publish", lambda g, m: sent.append((g, m)))
    return sent


def revoked(published, user) -> list[str]:
    """The reasons of the ``auth.revoked`` messages that reach every socket of ``user``."""
    return [
        m["reason"]
        for g, m in published
        if g == f"user.{user.pk}" and m["type"] == "auth.revoked" and "session" not in m
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_active": False}, "deactivated"),
        ({"role": "user"}, "role_changed"),
        ({"role": "admin"}, "role_changed"),
    ],
)
def test_taking_rights_away_closes_every_socket_of_the_user(agent, published, change, reason):
    """Issue 28: deactivation and a role change left the user's sockets working."""
    for field, value in change.items():
        setattr(agent, field, value)
    services.user_update(user=agent, fields=change)
    assert revoked(published, agent) == [reason]
    stored = User.objects.get(pk=agent.pk)
    for field, value in change.items():
        assert getattr(stored, field) == value
    assert stored.is_staff == (stored.role == "admin")


def test_a_password_change_closes_every_socket_of_the_user(customer, published):
    services.user_set_password(user=customer, password="another-long-pass-77")
    assert revoked(published, customer) == ["password_changed"]
    assert User.objects.get(pk=customer.pk).check_password("another-long-pass-77")


def test_other_changes_and_activation_close_nothing(customer, published):
    customer.display_name = "Alice B."
    services.user_update(user=customer, fields=["display_name"])
    User.objects.filter(pk=customer.pk).update(is_active=False)
    customer.is_active = True
    services.user_update(user=customer, fields=["is_active"])
    assert revoked(published, customer) == []
    assert User.objects.get(pk=customer.pk).display_name == "Alice B."


def test_update_writes_only_the_fields_named(agent):
    User.objects.filter(pk=agent.pk).update(active_chats=3)  # routing, meanwhile
    agent.display_name = "Ada"
    services.user_update(user=agent, fields=["display_name"])
    stored = User.objects.get(pk=agent.pk)
    assert (stored.display_name, stored.active_chats) == ("Ada", 3)
