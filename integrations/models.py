"""Webhook endpoints, their deliveries (the outbox, and the sent rows) and the scanner's
per-room cursors.

What every endpoint got at the first attempt is recorded once per timeline row (a
``WebhookSentRow``); a delivery that waits (a retry, its room's turn), fails or is
redelivered is a ``WebhookDelivery``, written once per (endpoint, room, seq, kind). Both
unique indexes are created raw (migration 0003), so a second record of the same thing
collides. A ``delivery_id`` is sent as ``X-Webhook-Id`` on every attempt, so a receiver
dedupes retries and redeliveries. State changes are single-document conditional
updates (a lease, an attempt's outcome); nothing relies on a transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_mongodb_backend.fields import ObjectIdField
from django_mongodb_backend.managers import MongoManager


class WebhookKind(models.TextChoices):
    ROOM_CREATED = "room.created", "Room created"
    ROOM_ASSIGNED = "room.assigned", "Room assigned"
    ROOM_TRANSFERRED = "room.transferred", "Room transferred"
    ROOM_CLOSED = "room.closed", "Room closed"
    MESSAGE_CREATED = "message.created", "Message created"
    ROOM_RATED = "room.rated", "Room rated"
    OFFLINE_MESSAGE_CREATED = "offline_message.created", "Offline message created"
    SLA_BREACHED = "sla.breached", "SLA breached"


# Sent only by the admin's "send test event"; never subscribed to.
TEST_KIND = "webhook.test"


class Scope(models.TextChoices):
    # What ``chat.render`` shows a customer (never notes, tags, the rating event).
    CUSTOMER = "customer", "Customer"
    # What it shows an agent (staff kinds included).
    STAFF = "staff", "Staff"


class EndpointStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class WebhookEndpoint(models.Model):
    """A receiver of webhooks. ``scanned_to``: how far (by creation time of the stored
    rows) the outbox has looked for it (``integrations.outbox``); a paused endpoint's
    stays put, so resuming continues from it."""

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    kinds = models.JSONField(default=list)
    team_id = ObjectIdField(null=True, blank=True)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.CUSTOMER)
    description = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=8, choices=EndpointStatus.choices, default=EndpointStatus.ACTIVE
    )
    paused_reason = models.CharField(max_length=300, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    scanned_to = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt failed (None after a success), and how many in a row.
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.IntegerField(default=0)

    objects = MongoManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint. ``seq``: the room's seq of the row it comes from (0:
    the room's creation and its offline message, which have no timeline row); rooms'
    deliveries go out in (seq, created_at) order. ``lease_until``: while set in the
    future, one worker owns the attempt (taken by a conditional update)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # Not indexed: nothing looks a delivery up by it (every index costs each of the
    # outbox's inserts).
    delivery_id = models.UUIDField(default=uuid.uuid4, editable=False)
    room_id = ObjectIdField(null=True, blank=True)
    seq = models.IntegerField(default=0)
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.IntegerField(default=0)
    # When it was queued (or queued again by a redeliver): retries stop
    # WEBHOOK_RETRY_HOURS after it.
    queued_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=40, blank=True, default="", editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MongoManager()

    class Meta:
        ordering = ["-created_at"]
        # Unique (endpoint_id, room_id, seq, kind), created raw by migration 0003
        # (RAW_INDEXES there): the exactly-once record; also serves a room's pending head
        # (endpoint, room, seq range).
        indexes = [
            # What is due: {status: pending, next_attempt_at <= now}; what is retrying
            # (> now); what is old enough to purge. An endpoint's list uses the unique
            # index's prefix.
            models.Index(fields=["status", "next_attempt_at"], name="integrations_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} -> {self.endpoint_id} ({self.status})"


class WebhookSentRow(models.Model):
    """What the scan delivered at the first attempt, one document per timeline row
    (room, seq, kind; seq 0: the room's creation, its offline message): the body sent
    to each scope (``bodies[scope]``: the body without its ``id``), and per endpoint
    (``sent[str(endpoint id)]``) the delivery id, scope, status code and time. One insert
    per row where one per delivery cost the embedded database 7x as much with ten
    endpoints (docs/benchmarks.md, "Webhooks"). What waits (a retry, its room's turn),
    fails or is redelivered is a :class:`WebhookDelivery`. The unique (room, seq, kind)
    index makes the record once; a row recorded again (sent again after a crash) merges
    its endpoints in."""

    room_id = ObjectIdField()
    seq = models.IntegerField(default=0)
    kind = models.CharField(max_length=32)
    bodies = models.JSONField(default=dict)
    sent = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MongoManager()

    class Meta:
        ordering = ["-created_at"]
        # Unique (room_id, seq, kind), created raw by migration 0003.

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} -> {len(self.sent)} endpoints"


class WebhookRoomCursor(models.Model):
    """Per room, each endpoint's cursor: ``seqs[str(endpoint id)]`` = every seq up to it
    has been turned into deliveries (or was not wanted); absent: not even the room's
    creation yet. One document per room (one write per room per scan, whatever the number
    of endpoints), each seq moved only forward (``$max``)."""

    # Unique, created raw by migration 0003.
    room_id = ObjectIdField()
    seqs = models.JSONField(default=dict)

    objects = MongoManager()

    class Meta:
        ordering = ["room_id"]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.seqs}"


class WebhookScanLock(models.Model):
    """Who scans the timeline into the outbox (``integrations.scanner``): one process at a
    time, because the scan's deliveries are sent before they are recorded. ``holder``
    keeps it while it renews ``until``; anyone may take it once ``until`` has passed."""

    name = models.CharField(max_length=32, unique=True)
    holder = models.CharField(max_length=120)
    until = models.DateTimeField()

    objects = MongoManager()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} until {self.until}"
