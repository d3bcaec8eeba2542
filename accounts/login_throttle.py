"""Login throttling per account and per client IP.

Each attempt first reserves a slot in both counters with one atomic INCR each; an
attempt that overflows either counter is refused before the password is checked.
Because the reservation comes first, concurrent attempts cannot slip past the limit
together, and an attacker cannot get around it by rotating one of the two: switching
IPs still hits the account counter, switching accounts still hits the IP counter.
A successful login clears its account counter and gives back its IP slot.

If Redis is down the check fails closed (``service_unavailable``): a login that
cannot be throttled is refused rather than left open to brute force.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from chat_project.errors import RateLimited, ServiceUnavailable


def _keys(username: str, ip: str) -> tuple[str, str]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"throttle:login:account:{account}", f"throttle:login:ip:{ip}"


def login_attempt_reserve(*, username: str, ip: str) -> None:
    account_key, ip_key = _keys(username, ip)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    try:
        pipe = get_redis_connection("default").pipeline()
        pipe.incr(account_key)
        pipe.expire(account_key, window, nx=True)
        pipe.incr(ip_key)
        pipe.expire(ip_key, window, nx=True)
        pipe.ttl(account_key)
        pipe.ttl(ip_key)
        account_count, _, ip_count, _, account_ttl, ip_ttl = pipe.execute()
    except RedisError as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now; try again shortly.") from exc
    if account_count > settings.LOGIN_MAX_FAILURES_PER_ACCOUNT:
        raise RateLimited(
            "Too many failed sign-ins for this account.", retry_after=max(int(account_ttl), 1)
        )
    if ip_count > settings.LOGIN_MAX_FAILURES_PER_IP:
        raise RateLimited(
            "Too many failed sign-ins from this address.", retry_after=max(int(ip_ttl), 1)
        )


def login_attempt_succeeded(*, username: str, ip: str) -> None:
    account_key, ip_key = _keys(username, ip)
    try:
        pipe = get_redis_connection("default").pipeline()
        pipe.delete(account_key)
        pipe.decr(ip_key)
        pipe.execute()
    except RedisError:
        pass  # the counters expire by themselves; the user is already signed in
