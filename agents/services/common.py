"""What the routing modules share: Redis keys and client, the audit writer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django_redis import get_redis_connection

from agents.models import RoutingAudit
from chat_project import metrics

logger = logging.getLogger(__name__)


DRAIN_LOCK = "routing:drain:lock"
DRAIN_PENDING = "routing:drain:pending"
HOUSEKEEPING_LOCK = "routing:housekeeping:lock"
RECONCILE_DUE = "routing:reconcile:recent"
QUEUE_POSITIONS = "routing:queue:positions"
GONE_AT = "routing:agent-gone:{agent_id}"
TEAMS_TICK_LOCK = "routing:teams:tick"
TEAMS_OPEN = "routing:teams:open"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def redis_client():
    return get_redis_connection("default")


def audit(action: str, **fields: Any) -> None:
    RoutingAudit.objects.create(action=action, **fields)
    metrics.routing_decisions.labels(str(action)).inc()


def routing_now() -> datetime:
    """The time routing judges business hours by (tests move it: ``common.routing_now``)."""
    return timezone.now()
