"""Login throttling: per account, per (address, account), and per address by how many
distinct accounts fail from it.

Issue 28: one counter per address counted every failure from it, so a few wrong
passwords for other names locked everyone behind that address (an office's NAT) out,
``alice`` with her right password included. Now three limits, each in its own window of
``LOGIN_FAILURE_WINDOW_SECONDS``:

- **per (address, account)**, ``LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT``: someone typing
  one account's password wrong from one place is stopped there, and nobody else is;
- **per account**, ``LOGIN_MAX_FAILURES_PER_ACCOUNT`` (from every address together):
  guessing one account's password from many addresses is stopped;
- **per address, by distinct accounts**, ``LOGIN_MAX_ACCOUNTS_PER_ADDRESS``: trying one
  password on many accounts (password spraying) is stopped at that many accounts, while
  colleagues behind one address each count once however many typos they make (the
  default lets 30 of them, and then some, sign in at once). A full address refuses only
  accounts not tried from it yet: those already tried go on under the first two limits.

Each attempt reserves its place in all three before the password is checked (one Lua
script, atomic), so concurrent attempts cannot slip past a limit together; a refused
attempt checks no password. A successful sign-in frees its account's places: its
account and pair counters, and its entry under the address.

If Redis is down the check fails closed (``service_unavailable``): a login that cannot
be throttled is refused rather than left open to brute force.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from chat_project.errors import RateLimited, ServiceUnavailable

# KEYS: account counter, pair counter, address zset (account -> time of its latest try).
# ARGV: account, now_ms, window_ms, max per account, max per pair, max accounts per address.
# Returns {refused_by (0 none, 1 account, 2 pair, 3 address), retry_after_ms}.
_RESERVE = """
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[2]) - window)
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return {3, tonumber(oldest[2]) + window - tonumber(ARGV[2])}
  end
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], window)
local counts = {}
for i = 1, 2 do
  counts[i] = redis.call('INCR', KEYS[i])
  if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], window) end
end
if counts[1] > tonumber(ARGV[4]) then return {1, redis.call('PTTL', KEYS[1])} end
if counts[2] > tonumber(ARGV[5]) then return {2, redis.call('PTTL', KEYS[2])} end
return {0, 0}
"""

_REFUSALS = {
    1: "Too many failed sign-ins for this account; try again later.",
    2: "Too many failed sign-ins for this account from this address; try again later.",
    3: "Too many accounts failed to sign in from this address; try again later.",
}


def account_key(account: str) -> str:
    """What names an account in the counters (a digest: no username is stored)."""
    return hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]


def _keys(account: str, ip: str) -> list[str]:
    digest = account_key(account)
    return [
        f"throttle:login:account:{digest}",
        f"throttle:login:pair:{ip}:{digest}",
        f"throttle:login:address:{ip}",
    ]


def login_attempt_reserve(*, account: str, ip: str) -> None:
    """Reserve this attempt's place under the three limits, or raise ``RateLimited``
    (with the seconds until a place frees up) before any password is checked.
    ``account`` is the account's username, whatever identifier was typed."""
    window_ms = settings.LOGIN_FAILURE_WINDOW_SECONDS * 1000
    try:
        refused_by, retry_ms = get_redis_connection("default").eval(
            _RESERVE,
            3,
            *_keys(account, ip),
            account_key(account),
            int(time.time() * 1000),
            window_ms,
            settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
            settings.LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT,
            settings.LOGIN_MAX_ACCOUNTS_PER_ADDRESS,
        )
    except RedisError as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now; try again shortly.") from exc
    if refused_by:
        retry_after = max(1, math.ceil(int(retry_ms) / 1000))
        raise RateLimited(_REFUSALS[int(refused_by)], retry_after=retry_after)


def login_attempt_succeeded(*, account: str, ip: str) -> None:
    """The account signed in: its failures no longer count, here or anywhere."""
    account_counter, pair_counter, address = _keys(account, ip)
    try:
        pipe = get_redis_connection("default").pipeline()
        pipe.delete(account_counter, pair_counter)
        pipe.zrem(address, account_key(account))
        pipe.execute()
    except RedisError:
        pass  # the counters expire by themselves; the user is already signed in
