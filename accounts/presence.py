"""Presence: a user is online while any of their connections holds a live lease.

Redis only, never the database. Each connection refreshes a lease (its id, scored by
expiry time) in ``presence:leases:<user>``; ``presence:online`` scores each user by
their latest lease expiry. A process that dies stops refreshing and its leases run
out by themselves; whoever removes an expired user from ``presence:online`` (one
atomic script, so exactly one caller) reports the online→offline transition.
"""

from __future__ import annotations

import time

from django_redis import get_redis_connection

ONLINE_KEY = "presence:online"
LEASES_KEY = "presence:leases:{user_id}"

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


def _now_ms() -> int:
    return int(time.time() * 1000)


def _redis():
    return get_redis_connection("default")


def lease_touch(*, user_id: str, conn_id: str, ttl_seconds: float) -> bool:
    """Create or refresh a connection's lease. True when the user just came online."""
    now = _now_ms()
    keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
    return bool(
        _redis().eval(_TOUCH, 2, *keys, user_id, conn_id, now + int(ttl_seconds * 1000), now)
    )


def lease_release(*, user_id: str, conn_id: str, grace_seconds: float) -> None:
    """A connection closed: keep its lease for the grace period so a reload does not flap."""
    now = _now_ms()
    keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
    _redis().eval(_RELEASE, 2, *keys, user_id, conn_id, now + int(grace_seconds * 1000), now)


def online_user_ids() -> set[str]:
    raw = _redis().zrangebyscore(ONLINE_KEY, _now_ms(), "+inf")
    return {member.decode() for member in raw}


def is_online(user_id: str) -> bool:
    score = _redis().zscore(ONLINE_KEY, str(user_id))
    return score is not None and score > _now_ms()


def expire_stale() -> list[str]:
    """Take users whose every lease ran out offline; returns exactly those this call took."""
    now = _now_ms()
    client = _redis()
    gone = []
    for member in client.zrangebyscore(ONLINE_KEY, "-inf", now):
        user_id = member.decode()
        keys = [LEASES_KEY.format(user_id=user_id), ONLINE_KEY]
        if client.eval(_EXPIRE, 2, *keys, user_id, now):
            gone.append(user_id)
    return gone
