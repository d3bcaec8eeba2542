import threading

import pytest
from django.db import connection

from accounts import capacity
from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_reserve_stops_at_max_chats(make_user):
    agent = make_user(username="agent5", role="agent", max_chats=2)
    assert capacity.capacity_reserve(agent=agent)
    assert capacity.capacity_reserve(agent=agent)
    assert not capacity.capacity_reserve(agent=agent)
    agent.refresh_from_db()
    assert agent.active_chats == 2
    assert agent.last_assigned_at is not None


def test_force_passes_the_cap(make_user):
    agent = make_user(username="agent5", role="agent", max_chats=1, accepting_chats=False)
    assert not capacity.capacity_reserve(agent=agent)
    assert capacity.capacity_reserve(agent=agent, force=True)


def test_reserve_fails_when_max_chats_changed_since_read(make_user):
    agent = make_user(username="agent5", role="agent", max_chats=2)  # routing read cap 2
    User.objects.filter(pk=agent.pk).update(max_chats=1, active_chats=1)  # an admin lowered it
    # 1 < 2 under the cap that was read, but the agent is full under the real one.
    assert not capacity.capacity_reserve(agent=agent)
    assert not capacity.capacity_reserve(agent=User.objects.get(pk=agent.pk))
    assert User.objects.get(pk=agent.pk).active_chats == 1


def test_customers_have_no_capacity(customer):
    assert not capacity.capacity_reserve(agent=customer)


def test_release_never_goes_below_zero(agent):
    assert not capacity.capacity_release(agent_id=agent.pk)
    assert capacity.capacity_reserve(agent=agent)
    assert capacity.capacity_release(agent_id=agent.pk)
    agent.refresh_from_db()
    assert agent.active_chats == 0


def test_concurrent_reservations_never_exceed_the_cap(make_user):
    agent = make_user(username="agent5", role="agent", max_chats=5)
    wins = []

    def reserve():
        try:
            wins.append(capacity.capacity_reserve(agent=agent))
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 5
    assert User.objects.get(pk=agent.pk).active_chats == 5


def test_capacity_set_reports_drift(agent):
    assert capacity.capacity_set(agent_id=agent.pk, active_chats=3)
    assert not capacity.capacity_set(agent_id=agent.pk, active_chats=3)
