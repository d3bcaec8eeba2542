"""Presence: a user is online while any of their connections holds a live lease.

Redis only, never the database. Each connection refreshes a lease (its id, scored by
expiry time) in ``presence:leases:<user>``; ``presence:online`` scores each user by
their latest lease expiry. A process that dies stops refreshing and its leases run
out by themselves; whoever removes an expired user from ``presence:online`` (one
atomic script, so exactly one caller) reports the online→offline transition.

The sync functions serve views, selectors and commands; the ``a``-prefixed ones serve the
WebSocket gateway from its event loop without a thread hop (redis.asyncio, the same Lua
scripts). The gateway also keeps ``presence:conns:<user>`` (live sockets, without the
grace period, for the per-user socket cap) and ``presence:roles`` (who is an agent, so a
process that reports someone offline knows who may see it).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection
from redis import asyncio as aioredis

from chat_project import metrics

ONLINE_KEY = "presence:online"
LEASES_KEY = "presence:leases:{user_id}"
CONNS_KEY = "presence:conns:{user_id}"
ROLES_KEY = "presence:roles"

# KEYS: leases, online. ARGV: user_id, conn_id, expiry_ms, now_ms.
# Returns 1 when the user was offline before this lease (a real transition).
_TOUCH = """
local was = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[2], top[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], top[2])
if (not was) or tonumber(was) <= tonumber(ARGV[4]) then return 1 end
return 0
"""

# KEYS: leases, online. ARGV: user_id, conn_id, grace_expiry_ms, now_ms.
# Shortens one lease to the grace period; the user stays online until it runs out.
_RELEASE = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  redis.call('ZADD', KEYS[2], top[2], ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], top[2])
elseif redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  -- no lease left (no grace): due now, so the next sweep reports the transition
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 0
"""

# KEYS: leases, online. ARGV: user_id, now_ms. Returns 1 if this call took the user offline.
_EXPIRE = """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


def now_ms() -> int:
    """The clock of leases and typing entries (ms since the epoch)."""
    return int(time.time() * 1000)


def _redis():
    return get_redis_connection("default")


def lease_touch(*, user_id: str, conn_id: str, ttl_seconds: float) -> bool:
    """Create or refresh a connection's lease. True when the user just came online."""
    now = now_ms()
    keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
    return bool(
        _redis().eval(_TOUCH, 2, *keys, user_id, conn_id, now + int(ttl_seconds * 1000), now)
    )


def lease_release(*, user_id: str, conn_id: str, grace_seconds: float) -> None:
    """A connection closed: keep its lease for the grace period so a reload does not flap."""
    now = now_ms()
    keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
    _redis().eval(_RELEASE, 2, *keys, user_id, conn_id, now + int(grace_seconds * 1000), now)


def online_user_ids() -> set[str]:
    raw = _redis().zrangebyscore(ONLINE_KEY, now_ms(), "+inf")
    return {member.decode() for member in raw}


def is_online_on_page(user: Any) -> bool:
    """For admin pages: whether ``user`` holds a live lease. A list page sets ``_online``
    on its rows from one :func:`online_user_ids` read; a change page reads for its one
    user."""
    if not hasattr(user, "_online"):
        user._online = str(user.pk) in online_user_ids()
    return user._online


def is_online(user_id: str) -> bool:
    score = _redis().zscore(ONLINE_KEY, str(user_id))
    return score is not None and score > now_ms()


def expire_stale() -> list[str]:
    """Take users whose every lease ran out offline; returns exactly those this call took."""
    now = now_ms()
    client = _redis()
    gone = []
    for member in client.zrangebyscore(ONLINE_KEY, "-inf", now):
        user_id = member.decode()
        keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
        if client.eval(_EXPIRE, 2, *keys, user_id, now):
            gone.append(user_id)
    return gone


# --- Sockets per user (the gateway's cap) ---------------------------------------------------

# A new socket in one round trip: the per-user cap, the role and the lease (as _TOUCH).
# KEYS: conns, leases, online, roles. ARGV: conn_id, expiry_ms, now_ms, limit, user_id, role.
# Returns 0 when refused (the user already has `limit` live sockets), 1 when admitted,
# 2 when admitted and the user was offline before (a real transition).
_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if (not redis.call('ZSCORE', KEYS[1], ARGV[1]))
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[5], ARGV[6])
local was = redis.call('ZSCORE', KEYS[3], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[3], top[2], ARGV[5])
redis.call('PEXPIREAT', KEYS[2], top[2])
if (not was) or tonumber(was) <= tonumber(ARGV[3]) then return 2 end
return 1
"""


# --- Async side (the gateway's event loop) --------------------------------------------------


class _AsyncPresence:
    """One redis.asyncio client and its registered scripts per event loop: asyncio
    connections belong to the loop that opened them."""

    def __init__(self) -> None:
        self.client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        )
        self.touch = self.client.register_script(_TOUCH)
        self.release = self.client.register_script(_RELEASE)
        self.expire = self.client.register_script(_EXPIRE)
        self.open = self.client.register_script(_OPEN)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncPresence] = (
    weakref.WeakKeyDictionary()
)


def _async() -> _AsyncPresence:
    loop = asyncio.get_running_loop()
    state = _per_loop.get(loop)
    if state is None:
        state = _per_loop[loop] = _AsyncPresence()
    return state


def aredis() -> aioredis.Redis:
    """The raw redis.asyncio client of the running loop (typing state shares it)."""
    return _async().client


async def aleases_touch(*, leases: Iterable[tuple[str, str]], ttl_seconds: float) -> list[str]:
    """Refresh many ``(user_id, conn_id)`` leases and their socket entries in one round
    trip (the heartbeat). Returns the users who came online again (a lease had run out)."""
    state = _async()
    now = now_ms()
    expiry = now + int(ttl_seconds * 1000)
    ttl_ms = int(ttl_seconds * 1000)
    leases = list(leases)
    if not leases:
        return []
    pipe = state.client.pipeline(transaction=False)
    for user_id, conn_id in leases:
        keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
        await state.touch(keys=keys, args=[user_id, conn_id, expiry, now], client=pipe)
        conns = CONNS_KEY.format(user_id=user_id)
        pipe.zadd(conns, {conn_id: expiry})
        pipe.pexpire(conns, ttl_ms)
    with metrics.redis_timer("presence_heartbeat"):
        results = await pipe.execute()
    came = {user_id for (user_id, _), result in zip(leases, results[::3], strict=True) if result}
    return sorted(came)


async def alease_release(*, user_id: str, conn_id: str, grace_seconds: float) -> None:
    """Async :func:`lease_release`; also frees the socket's place under the cap."""
    state = _async()
    now = now_ms()
    keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
    with metrics.redis_timer("presence_release"):
        await state.release(
            keys=keys, args=[user_id, conn_id, now + int(grace_seconds * 1000), now]
        )
        await state.client.zrem(CONNS_KEY.format(user_id=user_id), conn_id)


async def aonline_user_ids() -> set[str]:
    raw = await _async().client.zrangebyscore(ONLINE_KEY, now_ms(), "+inf")
    return {member.decode() for member in raw}


async def ais_online(user_id: str) -> bool:
    score = await _async().client.zscore(ONLINE_KEY, str(user_id))
    return score is not None and score > now_ms()


async def aexpire_stale() -> list[str]:
    """Async :func:`expire_stale`: exactly the users this call took offline."""
    state = _async()
    now = now_ms()
    gone = []
    with metrics.redis_timer("presence_sweep"):
        due = await state.client.zrangebyscore(ONLINE_KEY, "-inf", now)
    for member in due:
        user_id = member.decode()
        keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
        if await state.expire(keys=keys, args=[user_id, now]):
            gone.append(user_id)
    return gone


async def aconnection_open(
    *, user_id: str, conn_id: str, role: str, ttl_seconds: float, limit: int
) -> tuple[bool, bool]:
    """A new socket, in one round trip: count it against the per-user cap (live sockets
    only, across processes), remember the user's role (for whoever reports them offline)
    and take its presence lease. Returns ``(admitted, came_online)``: not admitted when
    the user already has ``limit`` live sockets (nothing else is written then)."""
    now = now_ms()
    keys = [
        CONNS_KEY.format(user_id=user_id),
        LEASES_KEY.format(user_id=user_id),
        ONLINE_KEY,
        ROLES_KEY,
    ]
    args = [conn_id, now + int(ttl_seconds * 1000), now, limit, user_id, role]
    with metrics.redis_timer("presence_open"):
        result = int(await _async().open(keys=keys, args=args))
    return result > 0, result == 2


async def aroles_of(user_ids: list[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    values = await _async().client.hmget(ROLES_KEY, user_ids)
    return {
        user_id: value.decode()
        for user_id, value in zip(user_ids, values, strict=True)
        if value is not None
    }
