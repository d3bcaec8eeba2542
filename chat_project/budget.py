"""Token buckets in Redis, shared by every process: each user's request budget, and
other per-key limits (registrations per address).

Issue 28, item 5: the socket's token bucket is per connection, so four sockets of one
customer, or REST sends (which had no limit), got around it. A user's budget is one
bucket for everything they send, over REST and every socket alike: ``USER_BUDGET_BURST``
tokens, refilled at ``USER_BUDGET_PER_SECOND``; a request costs what its work costs
(a send: 1).

A bucket is one Redis hash (``tokens``, ``ts``), taken from by one Lua script on Redis's
own clock (``TIME``), so processes with skewed clocks share it exactly and two takes
never both spend the last token. It expires once it would be full again.

API (sync for REST and services, ``a``-prefixed for the gateway's event loop):

- :func:`user_spend` / :func:`auser_spend` ``(user_id=, cost=1.0)``: spend from the
  user's budget or raise ``RateLimited`` (``retry_after`` in whole seconds, also in the
  error's ``details``). A budget is fairness, not security: when Redis does not answer it
  lets the request through (logged), so a Redis outage does not stop sends.
- :func:`take` / :func:`atake` ``(key, rate=, burst=, cost=1.0)`` -> :class:`Taken`: any
  bucket; a ``RedisError`` is the caller's to handle (the registration throttle fails
  closed on it).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis import asyncio as aioredis
from redis.commands.core import Script
from redis.exceptions import RedisError

from chat_project.errors import RateLimited

logger = logging.getLogger(__name__)

# KEYS: the bucket. ARGV: rate per second, burst, cost. Returns {allowed, wait seconds}.
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(held[1]) or burst
local ts = tonumber(held[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed, wait = 0, (cost - tokens) / rate
if tokens >= cost then
  tokens, allowed, wait = tokens - cost, 1, 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""

USER_KEY = "budget:user:{user_id}"


@dataclass(frozen=True)
class Taken:
    allowed: bool
    retry_after: float  # seconds until ``cost`` tokens are there again; 0.0 when allowed


def _taken(reply: list) -> Taken:
    allowed, wait = reply
    return Taken(allowed=bool(int(allowed)), retry_after=max(0.0, float(wait)))


def take(key: str, *, rate: float, burst: float, cost: float = 1.0) -> Taken:
    """Take ``cost`` tokens from bucket ``key`` (``burst`` at most, refilled at ``rate``
    per second) if it holds them. Raises ``RedisError``."""
    client = get_redis_connection("default")
    return _taken(Script(client, _TAKE)(keys=[key], args=[rate, burst, cost]))


_scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _async_script() -> Any:
    """The script on a redis.asyncio client of the running loop (asyncio connections
    belong to the loop that opened them)."""
    loop = asyncio.get_running_loop()
    script = _scripts.get(loop)
    if script is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        )
        script = _scripts[loop] = client.register_script(_TAKE)
    return script


async def atake(key: str, *, rate: float, burst: float, cost: float = 1.0) -> Taken:
    """:func:`take` from an event loop, without a thread hop."""
    return _taken(await _async_script()(keys=[key], args=[rate, burst, cost]))


def _user_bucket(user_id: object) -> dict:
    return {
        "key": USER_KEY.format(user_id=user_id),
        "rate": settings.USER_BUDGET_PER_SECOND,
        "burst": settings.USER_BUDGET_BURST,
    }


def _refuse(taken: Taken) -> None:
    if not taken.allowed:
        raise RateLimited(
            "Too many requests from this account; slow down.",
            retry_after=max(1, math.ceil(taken.retry_after)),
        )


def user_spend(*, user_id: object, cost: float = 1.0) -> None:
    """Spend ``cost`` from the user's budget (REST and sockets share it), or raise
    ``RateLimited``. Lets the request through when Redis does not answer."""
    if _unavailable.skipping():
        return
    try:
        taken = take(cost=cost, **_user_bucket(user_id))
    except RedisError as exc:
        _unavailable.noticed(exc)
        return
    _refuse(taken)


# How long a socket's frame waits for its budget before it goes on without it: the budget
# is checked on the hot path of every send, and a stalled Redis must not delay a send that
# needs only the database (the fault suite stops Valkey under sends).
ASYNC_WAIT_SECONDS = 0.25
# After a budget went unanswered, how long this process lets requests through without
# asking: one request per this period pays the wait, not every one.
SKIP_SECONDS = 1.0


class _Unavailable:
    """When Redis last failed to answer for a budget (a breaker, per process): a budget is
    fairness, so while Redis is away or slow the requests go through unchecked, and the
    log says so once per ``SKIP_SECONDS`` (a line, not a traceback per request)."""

    def __init__(self) -> None:
        self.until = 0.0

    def skipping(self) -> bool:
        return time.monotonic() < self.until

    def noticed(self, exc: BaseException) -> None:
        self.until = time.monotonic() + SKIP_SECONDS
        logger.warning(
            "user budgets unavailable (%s); requests let through for %.0f s",
            type(exc).__name__,
            SKIP_SECONDS,
        )


_unavailable = _Unavailable()


async def auser_spend(*, user_id: object, cost: float = 1.0) -> None:
    """:func:`user_spend` from the gateway's event loop; a Redis that does not answer
    within ``ASYNC_WAIT_SECONDS`` lets the frame through, as one that fails does."""
    if _unavailable.skipping():
        return
    try:
        async with asyncio.timeout(ASYNC_WAIT_SECONDS):
            taken = await atake(cost=cost, **_user_bucket(user_id))
    except (RedisError, TimeoutError) as exc:
        _unavailable.noticed(exc)
        return
    _refuse(taken)
