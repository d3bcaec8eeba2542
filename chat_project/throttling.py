"""The per-user request budget (``chat_project.budget``) on REST: DRF's throttle hook,
run for every API view after authentication and permissions, charges the operations
listed in ``CHARGED`` to the signed-in user's budget, the same bucket the gateway
charges for socket frames. A request over it is ``429 rate_limited`` with
``Retry-After``; the schema documents the 429 of every charged operation
(``chat_project.schema``).

Operations are named by URL route and method (a view names no cost of its own), so the
table is the one place to read what REST charges.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.throttling import BaseThrottle

from chat_project import budget

# (route, method) -> cost. A send costs 1, as a send-message frame does.
CHARGED: dict[tuple[str, str], float] = {
    ("api/chat/rooms/<oid:room_id>/messages", "POST"): 1.0,
}


def operation_cost(route: str | None, method: str) -> float | None:
    return CHARGED.get((route or "", method.upper()))


def schema_charged(path: str, method: str) -> bool:
    """Whether the OpenAPI operation ``method path`` (``/api/.../{room_id}/...``) is
    charged."""
    return any(
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) == path and charged == method.upper()
        for route, charged in CHARGED
    )


class UserBudgetThrottle(BaseThrottle):
    """Raises the domain's ``RateLimited`` (``chat_project.budget.user_spend``: its
    message and ``details.retry_after``, as everywhere else) rather than DRF's
    ``Throttled``."""

    def allow_request(self, request: Any, view: Any) -> bool:
        match = getattr(request, "resolver_match", None)
        cost = operation_cost(match.route if match else None, request.method)
        user = getattr(request, "user", None)
        if cost is None or user is None or not user.is_authenticated:
            return True
        budget.user_spend(user_id=user.pk, cost=cost)
        return True
