"""Housekeeping of state that expires: sessions and presence leases."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from accounts import presence

CACHED_SESSION_PREFIX = "django.contrib.sessions.cached_db"


@dataclass
class CleanupReport:
    sessions: int
    offline_users: list[str]

    def lines(self) -> list[str]:
        return [
            f"expired sessions removed: {self.sessions}",
            f"stale presence entries removed: {len(self.offline_users)}",
        ]


def expired_state_cleanup() -> CleanupReport:
    expired = Session.objects.filter(expire_date__lt=timezone.now())
    keys = list(expired.values_list("session_key", flat=True))
    # cached_db keeps a copy in the cache; drop it with the row so it cannot outlive it.
    cache.delete_many([CACHED_SESSION_PREFIX + key for key in keys])
    removed = expired.filter(session_key__in=keys).delete()[0] if keys else 0
    return CleanupReport(sessions=removed, offline_users=presence.expire_stale())
