"""The recent-history cache (Redis, through Django's cache): the newest page of each
room, viewer-independent (``dtos.message_base``), keyed by (room, last_seq, limit).

Every send, edit, delete and close bumps the room's ``last_seq`` before it changes
anything else, so a page cached under an older ``last_seq`` is never looked up again
(it expires by its TTL): no invalidation step that a crash could skip. A reader only
stores a page it has proven complete (``selectors.history._page_is_complete``), so an event
whose ``seq`` is reserved but not yet written is never frozen out of a cached page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _key(room_id: object, last_seq: int, limit: int) -> str:
    return f"chat:history:{room_id}:{last_seq}:{limit}"


def page_get(*, room_id: object, last_seq: int, limit: int) -> dict[str, Any] | None:
    try:
        return cache.get(_key(room_id, last_seq, limit))
    except Exception:  # the cache is an optimisation: a Redis outage must not break reads
        logger.warning("history cache read failed", exc_info=True)
        return None


def page_set(*, room_id: object, last_seq: int, limit: int, page: dict[str, Any]) -> None:
    try:
        cache.set(_key(room_id, last_seq, limit), page, timeout=settings.CHAT_HISTORY_CACHE_SECONDS)
    except Exception:
        logger.warning("history cache write failed", exc_info=True)
