"""Self-registrations per client address (issue 28, item 5: registrations had no limit).

A token bucket per address (``chat_project.budget``): ``REGISTER_MAX_PER_ADDRESS`` at
once, refilled over ``REGISTER_WINDOW_SECONDS``. Like the login throttle it fails closed:
without Redis a registration is refused (``service_unavailable``) rather than left open
to mass sign-ups. Accounts an admin creates are charged to the admin's request budget
instead (``accounts.services.user_register``).
"""

from __future__ import annotations

import math

from django.conf import settings
from redis.exceptions import RedisError

from chat_project import budget
from chat_project.errors import RateLimited, ServiceUnavailable


def registration_reserve(*, ip: str) -> None:
    limit = settings.REGISTER_MAX_PER_ADDRESS
    try:
        taken = budget.take(
            f"throttle:register:{ip}", rate=limit / settings.REGISTER_WINDOW_SECONDS, burst=limit
        )
    except RedisError as exc:
        raise ServiceUnavailable(
            "Registration is unavailable right now; try again shortly."
        ) from exc
    if not taken.allowed:
        raise RateLimited(
            "Too many registrations from this address; try again later.",
            retry_after=max(1, math.ceil(taken.retry_after)),
        )
