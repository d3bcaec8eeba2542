"""Who scans the timeline into the outbox: one process at a time.

The scan's deliveries are sent first and recorded after (``integrations.worker``): one
insert per delivery, no lease to take and no outcome to update. Two scanners would both
send the same rows, so the scan is held by one holder under a lock it renews every tick
(one conditional update); any process (a gateway, ``run_webhooks``) takes it once it
has lapsed. The others only send what is due again (retries, redelivers), under each
delivery's own lease.

``held_since``: since when this holder has held it without a break. What it sends for
rows stored before that may have been sent, and recorded, by the previous holder
without its cursors being written (they are written every tenth scan): the outbox looks
those up before sending (``outbox.Scan.drop_recorded``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from chat_project import mongo
from integrations.models import WebhookScanLock

NAME = "outbox"

_since: dict[str, datetime] = {}
_since_lock = threading.Lock()


def _locks():
    return mongo.collection(WebhookScanLock)


def take(holder: str, *, now: datetime, seconds: float) -> datetime | None:
    """Take or renew the lock until ``now + seconds``; returns since when ``holder`` has
    held it without a break, or None when another holder has it."""
    until = now + timedelta(seconds=seconds)
    try:
        # One command: renew ours, take a lapsed one, or create it; a lock held by
        # another matches nothing, and the upsert then collides on the unique name.
        before = _locks().find_one_and_update(
            {"name": NAME, "$or": [{"holder": holder}, {"until": {"$lt": now}}]},
            {"$set": {"holder": holder, "until": until}},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
    except DuplicateKeyError:
        forget(holder)
        return None
    with _since_lock:
        if before is None or before.get("holder") != holder or holder not in _since:
            _since[holder] = now
        return _since[holder]


def still_held(holder: str, *, now: datetime, seconds: float) -> bool:
    """Renew the lock if ``holder`` still has it (right before sending what it scanned)."""
    until = now + timedelta(seconds=seconds)
    renewed = _locks().update_one({"name": NAME, "holder": holder}, {"$set": {"until": until}})
    if not renewed.matched_count:
        forget(holder)
    return bool(renewed.matched_count)


def release(holder: str) -> None:
    """Let the next holder take it at once (a clean stop)."""
    _locks().update_one(
        {"name": NAME, "holder": holder}, {"$set": {"until": datetime(1970, 1, 1, tzinfo=UTC)}}
    )
    forget(holder)


def forget(holder: str) -> None:
    """The next ``take`` starts a new unbroken hold (after losing it, or a failed record:
    what was sent may not have been recorded)."""
    with _since_lock:
        _since.pop(holder, None)
