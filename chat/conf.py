"""The chat app's settings with their defaults, read at call time (tests override them
with pytest-django's ``settings`` fixture). ``chat_project/settings.py`` fills them
from the environment; the README lists them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # 1 (default): a customer has at most one queued/active room; a second create
    # returns it (200). 0: every create makes a new room.
    "CHAT_ONE_OPEN_ROOM_PER_CUSTOMER": True,
    "CHAT_MESSAGE_MAX_CHARS": 5000,
    "CHAT_MESSAGE_MAX_ATTACHMENTS": 10,
    "CHAT_EDIT_WINDOW_SECONDS": 900,
    # Edit originals, edit texts and deleted texts are purged after this many days.
    "CHAT_AUDIT_RETENTION_DAYS": 365,
    # A replay further behind than this many events is refused with resync_required.
    "CHAT_REPLAY_MAX_EVENTS": 10000,
    "CHAT_HISTORY_CACHE_SECONDS": 300,
    # A seq with no event (a database crash mid-round) is filled with a noop once the
    # room's seq (or an event after it) is this old: no round can still be writing it.
    "CHAT_HOLE_SETTLE_SECONDS": 5,
    "CHAT_ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "CHAT_ATTACHMENT_TYPES": [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
    ],
    # An alias of Django's STORAGES setting.
    "CHAT_ATTACHMENT_STORAGE": "default",
}


def chat_setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
