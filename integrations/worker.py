"""The webhook worker's tick: scan the timeline into the outbox, then send what is due.

**In order per room.** A delivery is sent only when it is the lowest pending one of its
(endpoint, room): while an earlier one waits for its retry, the room's later ones wait
too. Different rooms (and endpoints) go in parallel, ``WEBHOOK_CONCURRENCY`` at a time.

**One sender per delivery.** What the tick's scan found is its own: one process holds
the scan at a time (``integrations.scanner``); those are sent, then recorded with their
outcome (``outbox.Scan.record``), the common case at one write each. What is stored and
due again (a retry, a redeliver, a room's turn come) is taken with a lease: one
conditional update ``{_id in the tick's, status: pending, next_attempt_at <= now,
lease_until unset or past}`` -> ``lease_until = now + WEBHOOK_LEASE_SECONDS, lease_token``,
each document updated atomically. Two processes (gateways, ``run_webhooks``) that pick
the same deliveries race on that update and each delivery goes to one of them; a room's
chain stops at the first one that is not its own, and no attempt starts late in the
lease. The tick's outcomes are written in a few commands filtered on the token, so a worker
that outlived its lease writes nothing. A worker killed mid-tick leaves a lease that
expires: those deliveries are sent again (at least once, the same ``X-Webhook-Id``).

**Retries** use full jitter: the n-th failure waits ``random(0, min(cap, base * 2**(n-1)))``
(``signing.backoff_seconds``), until ``WEBHOOK_RETRY_HOURS`` after the delivery was
queued; then it is ``failed`` and the room's next one goes. An endpoint that has failed
every attempt for ``WEBHOOK_PAUSE_AFTER_SECONDS``, or ``WEBHOOK_PAUSE_AFTER_FAILURES``
times in a row, is paused with the reason.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from pymongo import UpdateMany, UpdateOne

from chat_project import mongo
from integrations import outbox, scanner, sender, signing
from integrations.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSentRow,
)

logger = logging.getLogger(__name__)

DUE_BATCH = 500
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"

_tick_lock = threading.Lock()
_senders: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The worker's HTTP threads: long-lived, so each keeps its database connection."""
    global _senders
    if _senders is None:
        _senders = ThreadPoolExecutor(
            max_workers=max(1, settings.WEBHOOK_CONCURRENCY), thread_name_prefix="webhook"
        )
    return _senders


def webhooks_tick(*, now: datetime | None = None, holder: str = WORKER_ID) -> dict[str, int]:
    """One scan (when this process holds the scan, ``integrations.scanner``) and one
    round of sends. A tick that finds the previous one still running (a slow endpoint)
    returns at once: ticks never pile up."""
    if not _tick_lock.acquire(blocking=False):
        return {}
    try:
        return run_tick(now=now, holder=holder)
    finally:
        _tick_lock.release()


def run_tick(*, now: datetime | None = None, holder: str = WORKER_ID) -> dict[str, int]:
    """The tick itself. What the scan finds is sent first and recorded after, with its
    outcome (``outbox.Scan.record``: one insert per row for what went at the first
    attempt, one per delivery for the rest). A crash between the two sends those again (the
    same ``X-Webhook-Id``): at least once."""
    started = now or timezone.now()
    purged = _purge_old(started)
    if not WebhookEndpoint.objects.filter(status=EndpointStatus.ACTIVE).exists():
        return {"purged": purged}  # the usual case, no webhooks: one small read a tick
    held_since = scanner.take(holder, now=started, seconds=_lease_seconds())
    hold = (holder, held_since)
    scan = outbox.outbox_scan(now=now, hold=hold) if held_since is not None else None
    if scan is not None:
        scan.drop_recorded(held_since)
        if not scanner.still_held(holder, now=now or timezone.now(), seconds=_lease_seconds()):
            scan = None  # taken over meanwhile (this process stalled): the new holder sends
    fresh = scan.deliveries if scan is not None else []
    sent, failed = deliveries_send_due(now=now, fresh=fresh)
    recorded = 0
    if scan is not None:
        try:
            recorded = len(scan.record())
        except Exception:
            # Sent, perhaps not recorded: the next scan looks up what is before sending.
            scanner.forget(holder)
            raise
    return {"enqueued": recorded, "delivered": sent, "failed_attempts": failed, "purged": purged}


def webhooks_stopped(*, holder: str = WORKER_ID) -> None:
    """A clean stop: another process may take the scan at once, not when it lapses."""
    scanner.release(holder)


_purged_at = 0.0


def _purge_old(now: datetime) -> int:
    """Delivered and failed deliveries, and sent rows, older than WEBHOOK_RETENTION_DAYS
    go, at most once an hour per process (by the (status, next_attempt_at) index; the
    rows by ``_id``)."""
    global _purged_at
    if time.monotonic() - _purged_at < 3600:
        return 0
    _purged_at = time.monotonic()
    cutoff = now - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    purged = 0
    for status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        match = mongo.index_match({"status": status.value}, ("next_attempt_at", {"$lt": cutoff}))
        purged += mongo.collection(WebhookDelivery).delete_many(match).deleted_count
    # The sent rows by their ids' time, a chunk a command.
    older = mongo.index_match({}, ("_id", {"$lt": ObjectId.from_datetime(cutoff)}))
    purged += mongo.delete_in_chunks(mongo.collection(WebhookSentRow), older)
    return purged


def deliveries_due(*, now: datetime, limit: int = DUE_BATCH) -> list[WebhookDelivery]:
    """Pending deliveries whose time has come, oldest due first, by the (status,
    next_attempt_at) index."""
    match = mongo.index_match(
        {"status": DeliveryStatus.PENDING.value}, ("next_attempt_at", {"$lte": now})
    )
    pipeline: list[dict[str, Any]] = [{"$match": match}]
    pipeline += [{"$sort": {"next_attempt_at": 1}}, {"$limit": limit}]
    return list(WebhookDelivery.objects.raw_aggregate(pipeline))


def _retrying(now: datetime) -> dict[tuple[Any, Any], int]:
    """(endpoint, room) -> the lowest seq waiting for a retry (pending, not due yet): the
    rooms that must wait. Few: only failing endpoints have any."""
    match = mongo.index_match(
        {"status": DeliveryStatus.PENDING.value}, ("next_attempt_at", {"$gt": now})
    )
    waiting: dict[tuple[Any, Any], int] = {}
    fields = {"endpoint_id": 1, "room_id": 1, "seq": 1}
    for doc in mongo.collection(WebhookDelivery).find(match, fields):
        key = (doc["endpoint_id"], doc.get("room_id"))
        waiting[key] = min(waiting.get(key, doc["seq"]), doc["seq"])
    return waiting


def _room_head(endpoint_id: Any, room_id: Any, seq: int) -> WebhookDelivery | None:
    """The room's lowest pending delivery for the endpoint, at or below ``seq``: the
    (endpoint, room, seq) prefix of the unique index, then the status."""
    match = mongo.index_match(
        {"endpoint_id": endpoint_id, "room_id": room_id}, ("seq", {"$lte": seq})
    )
    pipeline = [
        {"$match": match},
        {"$match": {"status": DeliveryStatus.PENDING.value}},
        {"$sort": {"seq": 1, "created_at": 1, "_id": 1}},
        {"$limit": 1},
    ]
    found = list(WebhookDelivery.objects.raw_aggregate(pipeline))
    return found[0] if found else None


def deliveries_send_due(
    *,
    now: datetime | None = None,
    token: str | None = None,
    fresh: list[WebhookDelivery] | None = None,
) -> tuple[int, int]:
    """Send every due delivery that heads its room; returns (delivered, failed attempts).
    ``fresh``: this tick's scan's deliveries, not recorded yet: they go after the room's
    stored ones, and their outcomes are set on them (the scan records them after)."""
    now = now or timezone.now()
    token = token or f"{WORKER_ID}:{uuid.uuid4().hex[:12]}"
    fresh = fresh or []
    from_store = deliveries_due(now=now)
    due = [*from_store, *fresh]
    if not due:
        return 0, 0
    endpoints = {
        e.pk: e
        for e in WebhookEndpoint.objects.filter(pk__in=list({d.endpoint_id for d in due}))
        if e.status == EndpointStatus.ACTIVE
    }
    chains: dict[tuple[Any, Any], list[WebhookDelivery]] = defaultdict(list)
    for delivery in due:
        if delivery.endpoint_id not in endpoints:
            continue
        key = (delivery.endpoint_id, delivery.room_id or delivery.pk)
        chains[key].append(delivery)
    held = {d.pk for d in fresh}
    # A room waits while an earlier delivery of it waits for its retry. When the due list
    # was cut at its limit, an earlier due one may be missing from it too: then each
    # room's head is read (a rare, busy case).
    truncated = len(from_store) >= DUE_BATCH
    waiting = {} if truncated else _retrying(now)
    runnable = []
    for (endpoint_id, _), chain in chains.items():
        chain.sort(key=lambda d: (d.seq, d.created_at, d.pk))
        first = chain[0]
        if first.room_id is not None:
            if truncated:
                head = _room_head(endpoint_id, first.room_id, first.seq)
                if (head.pk if head else None) != (None if first.pk in held else first.pk):
                    continue
            elif waiting.get((endpoint_id, first.room_id), first.seq + 1) < first.seq:
                continue
        runnable.append((endpoints[endpoint_id], chain))
    others = [d for _, chain in runnable for d in chain if d.pk not in held]
    mine = held | _lease(others, now, token)
    if not runnable or not mine:
        _release(mine - held, token)
        return 0, 0
    started = time.monotonic()
    results = list(
        _pool().map(
            lambda job: _send_chain(*job, mine=mine, fresh=held, token=token, started=started),
            runnable,
        )
    )
    outcomes = [update for result in results for update in result[2]]
    attempted = {pk for result in results for pk in result[3]}
    unattempted = mine - held - attempted
    if unattempted:  # free them now rather than when the lease runs out
        outcomes.append(_release_op(unattempted, token))
    # The tick's outcomes in short commands (``outbox.WRITE_CHUNK``), written only where
    # the lease is still ours (a crash before it: those are sent again, with the same ids).
    for start in range(0, len(outcomes), outbox.WRITE_CHUNK):
        _deliveries().bulk_write(outcomes[start : start + outbox.WRITE_CHUNK], ordered=False)
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _release_op(ids: set[Any], token: str) -> UpdateMany:
    return UpdateMany(
        {"_id": {"$in": list(ids)}, "lease_token": token},
        {"$set": {"lease_until": None, "lease_token": ""}},
    )


def _release(ids: set[Any], token: str) -> None:
    """Leased but not attempted (a room waiting for a retry): free now, not at expiry."""
    if ids:
        _deliveries().bulk_write([_release_op(ids, token)])


def _lease_seconds() -> float:
    return settings.WEBHOOK_LEASE_SECONDS


def _last_start_seconds() -> float:
    """No attempt starts later than this into the lease: an attempt takes at most
    about two timeouts (connect, then each read), and the outcomes are written after."""
    return max(settings.WEBHOOK_LEASE_SECONDS - 2 * settings.WEBHOOK_TIMEOUT_SECONDS - 1, 0.0)


def _deliveries():
    return mongo.collection(WebhookDelivery)


def _lease(deliveries: list[WebhookDelivery], now: datetime, token: str) -> set[Any]:
    """Take the tick's deliveries that are still pending, due and free: one conditional
    update (each document is updated atomically, whoever races for it), then one read of
    which ones carry our token."""
    ids = [d.pk for d in deliveries]
    if not ids:
        return set()
    until = now + timedelta(seconds=_lease_seconds())
    _deliveries().update_many(
        {
            "_id": {"$in": ids},
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": {"$lte": now},
            "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}],
        },
        {"$set": {"lease_until": until, "lease_token": token}},
    )
    mine = _deliveries().find({"_id": {"$in": ids}, "lease_token": token}, {"_id": 1})
    return {doc["_id"] for doc in mine}


def _send_chain(
    endpoint: WebhookEndpoint,
    chain: list[WebhookDelivery],
    *,
    mine: set[Any],
    fresh: set[Any],
    token: str,
    started: float,
) -> tuple[int, int, list[UpdateOne], list[Any]]:
    """A room's due deliveries in order, stopping at the first that does not go (or is
    not ours, or when the lease is too far gone); returns (sent, failed, the outcomes to
    write, the ids attempted). A ``fresh`` one (not stored yet) gets its outcome set on
    it instead."""
    sent = failed = 0
    outcomes: list[UpdateOne] = []
    attempted: list[Any] = []
    try:
        for delivery in chain:
            if delivery.pk not in mine:
                break  # someone else holds it, or it changed: keep the room's order
            if time.monotonic() - started > _last_start_seconds():
                break  # the rest next tick, under a lease of their own
            attempted.append(delivery.pk)
            ok, fields = _attempt(endpoint, delivery)
            if delivery.pk in fresh:
                for name, value in fields.items():
                    setattr(delivery, name, value)
                delivery.attempts += 1
            else:
                # Written only while the lease is ours: a worker that outlived it writes
                # nothing.
                outcomes.append(
                    UpdateOne(
                        {"_id": delivery.pk, "lease_token": token},
                        {"$set": fields, "$inc": {"attempts": 1}},
                    )
                )
            if not ok:
                failed += 1
                break
            sent += 1
        if sent and not failed:
            _endpoint_succeeded(endpoint)
    except Exception:  # a tick must survive a bad row or a database hiccup
        logger.exception("webhook chain to %s failed", endpoint.url)
    return sent, failed, outcomes, attempted


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[bool, dict[str, Any]]:
    """One HTTP attempt; returns (delivered?, the fields that record it, besides one
    more attempt)."""
    attempt = sender.attempt_send(
        url=endpoint.url,
        secret=endpoint.secret,
        delivery_id=str(delivery.delivery_id),
        kind=delivery.kind,
        payload=delivery.payload,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    done = timezone.now()
    fields: dict[str, Any] = {
        "last_attempt_at": done,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error[:500],
        "lease_until": None,
        "lease_token": "",
        "updated_at": done,
    }
    if attempt.ok:
        fields |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": done}
    else:
        bound = delivery.queued_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
        wait = signing.backoff_seconds(
            attempts=delivery.attempts + 1,
            base=settings.WEBHOOK_BACKOFF_BASE_SECONDS,
            cap=settings.WEBHOOK_BACKOFF_CAP_SECONDS,
        )
        retry_at = done + timedelta(seconds=wait)
        if retry_at > bound:
            fields["status"] = DeliveryStatus.FAILED.value
        else:
            fields["next_attempt_at"] = retry_at
        _endpoint_failed(endpoint, done, attempt.error)
    return attempt.ok, fields


def _endpoint_succeeded(endpoint: WebhookEndpoint) -> None:
    """Clear the failure count; ``last_success_at`` is written at most every few seconds
    per endpoint (not once per delivery)."""
    now = timezone.now()
    recent = endpoint.last_success_at and (now - endpoint.last_success_at).total_seconds() < 5
    if recent and not endpoint.consecutive_failures and endpoint.failing_since is None:
        return
    endpoint.last_success_at = now
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        last_success_at=now, failing_since=None, consecutive_failures=0
    )


def _endpoint_failed(endpoint: WebhookEndpoint, at: datetime, error: str) -> None:
    """Count the failure; pause the endpoint once it has failed long or often enough."""
    rows = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    rows.update(last_failure_at=at, consecutive_failures=F("consecutive_failures") + 1)
    rows.filter(failing_since=None).update(failing_since=at)
    current = rows.first()
    if current is None or current.status != EndpointStatus.ACTIVE:
        return
    failing_for = (at - current.failing_since).total_seconds() if current.failing_since else 0
    reason = ""
    if current.consecutive_failures >= settings.WEBHOOK_PAUSE_AFTER_FAILURES:
        reason = f"{current.consecutive_failures} failed attempts in a row"
    elif failing_for >= settings.WEBHOOK_PAUSE_AFTER_SECONDS:
        reason = f"every attempt failed for {int(failing_for)} s"
    if reason:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, status=EndpointStatus.ACTIVE).update(
            status=EndpointStatus.PAUSED,
            paused_reason=f"{reason} (last: {error[:150]})",
            paused_at=at,
            updated_at=at,
        )
        logger.warning("webhook endpoint %s paused: %s", endpoint.url, reason)
