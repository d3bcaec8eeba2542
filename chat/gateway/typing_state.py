"""Typing indicators: Redis only, never stored, gone by themselves.

One hash per user and room, ``typing:<room>:<user>`` with ``seen`` (the last refresh, ms)
and ``sent`` (the last ``user-typing`` broadcast, ms), shared by all the user's sockets
in every process. The rules (also in the README):

- ``typing {is_typing: true}`` refreshes ``seen``; ``user-typing`` goes to the room's
  other users only when the user was not typing or the last broadcast is older than
  ``WS_TYPING_THROTTLE_SECONDS`` (the throttle per user and room).
- Every ``user-typing`` with ``is_typing: true`` carries ``ttl_ms`` (``WS_TYPING_TTL_SECONDS``):
  a client shows the indicator for that long unless refreshed.
- ``is_typing: false`` goes out on an explicit stop, when the socket closes, and when
  ``ttl_ms`` passes without a refresh (the typing socket's own timer, see
  :func:`typing_expire`). If a whole process dies, its timers die with it; the hash
  outlives the ttl by a margin and then expires, and clients have already dropped the
  indicator after ``ttl_ms``: nobody stays "typing" forever.
"""

from __future__ import annotations

import time

from accounts import presence

KEY = "typing:{room_id}:{user_id}"
# The hash lives a little longer than the indicator so the typing socket's timer, not
# Redis expiry, decides the "stopped" broadcast; expiry only cleans up after a crash.
_MARGIN_MS = 5000

# KEYS: hash. ARGV: now_ms, throttle_ms, px_ms. Returns 1 when a broadcast is due.
_START = """
local sent = redis.call('HGET', KEYS[1], 'sent')
local emit = 0
if (not sent) or tonumber(ARGV[1]) - tonumber(sent) >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'sent', ARGV[1])
  emit = 1
end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return emit
"""

# KEYS: hash. ARGV: now_ms, ttl_ms. Returns 1 when this call ended the typing (so
# exactly one of several sockets or timers reports the stop).
_EXPIRE = """
local seen = redis.call('HGET', KEYS[1], 'seen')
if not seen then return 0 end
if tonumber(ARGV[1]) - tonumber(seen) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


def _key(room_id: str, user_id: str) -> str:
    return KEY.format(room_id=room_id, user_id=user_id)


async def typing_start(
    *, room_id: str, user_id: str, ttl_seconds: float, throttle_seconds: float
) -> bool:
    """The user typed. True when ``user-typing`` (true) should be broadcast now."""
    ttl_ms = int(ttl_seconds * 1000)
    result = await presence.aredis().eval(
        _START,
        1,
        _key(room_id, user_id),
        presence.now_ms(),
        int(throttle_seconds * 1000),
        ttl_ms + _MARGIN_MS,
    )
    return bool(result)


async def typing_stop(*, room_id: str, user_id: str) -> bool:
    """Explicit stop or socket closed. True when the user was typing (broadcast false)."""
    return bool(await presence.aredis().delete(_key(room_id, user_id)))


async def typing_expire(*, room_id: str, user_id: str, ttl_seconds: float) -> bool:
    """A socket's timer ran out. True when nobody refreshed within the ttl (broadcast
    false); False when a refresh came meanwhile or someone else already stopped it."""
    result = await presence.aredis().eval(
        _EXPIRE, 1, _key(room_id, user_id), presence.now_ms(), int(ttl_seconds * 1000)
    )
    return bool(result)


def typing_stale_purge(*, now_ms: int | None = None) -> int:
    """Delete typing hashes whose last refresh is older than the indicator's ttl plus
    the margin (normally Redis expiry does this; ``manage.py cleanup_sessions`` calls it
    to catch any left without one). Returns how many were removed."""
    from django.conf import settings
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    limit = now_ms - int(settings.WS_TYPING_TTL_SECONDS * 1000) - _MARGIN_MS
    removed = 0
    for key in client.scan_iter(match=KEY.format(room_id="*", user_id="*"), count=500):
        seen = client.hget(key, "seen")
        if seen is None or int(seen) < limit:
            removed += client.delete(key)
    return removed
