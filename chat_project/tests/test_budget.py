"""chat_project.budget: token buckets in Redis shared by every process, REST and sockets."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from redis.exceptions import ConnectionError as RedisConnectionError

from chat_project import budget
from chat_project.errors import RateLimited


def test_a_bucket_gives_its_burst_then_refuses_until_it_refills():
    takes = [budget.take("t:burst", rate=10, burst=3) for _ in range(4)]
    assert [t.allowed for t in takes] == [True, True, True, False]
    assert 0 < takes[-1].retry_after <= 0.1  # one token at 10/s
    time.sleep(0.15)
    assert budget.take("t:burst", rate=10, burst=3).allowed


def test_a_cost_larger_than_what_is_left_waits_for_it():
    assert budget.take("t:cost", rate=2, burst=4, cost=3).allowed
    refused = budget.take("t:cost", rate=2, burst=4, cost=3)
    assert not refused.allowed
    assert 0.9 < refused.retry_after <= 1.0  # 2 tokens missing at 2/s


async def test_sync_and_async_takes_share_one_bucket():
    """REST (sync, on a request thread) and the gateway (async, on the event loop) spend
    from the same budget."""
    assert (await sync_to_async(budget.take)("t:shared", rate=0.01, burst=2)).allowed
    assert (await budget.atake("t:shared", rate=0.01, burst=2)).allowed
    assert not (await budget.atake("t:shared", rate=0.01, burst=2)).allowed
    assert not (await sync_to_async(budget.take)("t:shared", rate=0.01, burst=2)).allowed


def test_user_spend_raises_rate_limited_with_retry_after(settings):
    settings.USER_BUDGET_BURST = 2
    settings.USER_BUDGET_PER_SECOND = 0.5
    budget.user_spend(user_id="u1")
    budget.user_spend(user_id="u1")
    with pytest.raises(RateLimited) as refused:
        budget.user_spend(user_id="u1")
    assert refused.value.retry_after == 2
    assert refused.value.details == {"retry_after": 2}
    budget.user_spend(user_id="u2")  # another user's budget is their own


async def test_auser_spend_is_the_same_budget(settings):
    settings.USER_BUDGET_BURST = 1
    settings.USER_BUDGET_PER_SECOND = 0.1
    await sync_to_async(budget.user_spend)(user_id="u3")
    with pytest.raises(RateLimited):
        await budget.auser_spend(user_id="u3")


def test_the_user_budget_lets_requests_through_when_redis_is_down(monkeypatch, caplog):
    """And asks again only ``SKIP_SECONDS`` later: under a Redis stall every frame waited
    for it, and each logged a traceback (the drain fault test found them)."""
    calls = []

    def down(*args, **kwargs):
        calls.append(1)
        raise RedisConnectionError("down")

    monkeypatch.setattr(budget, "take", down)
    monkeypatch.setattr(budget._unavailable, "until", 0.0)  # restored after the test
    budget.user_spend(user_id="u4", cost=1000)  # no error: fairness, not security
    budget.user_spend(user_id="u4", cost=1000)
    assert len(calls) == 1
    assert [r.exc_info for r in caplog.records if r.name == budget.logger.name] == [None]
    monkeypatch.setattr(budget._unavailable, "until", 0.0)  # the breaker's time is up
    budget.user_spend(user_id="u4", cost=1000)
    assert len(calls) == 2
