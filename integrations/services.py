"""Writes: endpoints (create, change, pause, resume, delete) and deliveries (redeliver,
a test event). Admins only; every change is one single-document update."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId
from bson.errors import InvalidId
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import User
from agents.models import Team
from chat_project import mongo
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from integrations import addresses, outbox, selectors, signing
from integrations.models import (
    TEST_KIND,
    DeliveryStatus,
    EndpointStatus,
    Scope,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSentRow,
)
from integrations.worker import webhooks_stopped, webhooks_tick

__all__ = [
    "delivery_redeliver",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_pause",
    "endpoint_resume",
    "endpoint_send_test",
    "endpoint_update",
    "webhooks_stopped",
    "webhooks_tick",
]

_url_validator = URLValidator(schemes=["http", "https"])
SECRET_MIN = 16


def _require_admin(actor: User | None) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_admin:
        raise PermissionDenied("Only admins manage webhooks.")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": {field: [message]}})


def _clean(
    *,
    url: Any = None,
    kinds: Any = None,
    scope: Any = None,
    team_id: Any = None,
    secret: Any = None,
    description: Any = None,
    partial: bool,
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if url is not None or not partial:
        if not isinstance(url, str) or len(url) > 500:
            raise _invalid("url", "An http or https URL.")
        try:
            _url_validator(url)
        except ValidationError as exc:
            raise _invalid("url", "An http or https URL.") from exc
        if addresses.host_refused(urlsplit(url).hostname or ""):
            raise _invalid("url", "Not an address of this network's own (loopback, private).")
        clean["url"] = url
    if kinds is not None or not partial:
        if not isinstance(kinds, list) or not kinds:
            raise _invalid("kinds", "A non-empty list of event kinds.")
        unknown = [k for k in kinds if k not in WebhookKind.values]
        if unknown:
            raise _invalid("kinds", f"Unknown kinds: {', '.join(map(str, unknown))}.")
        clean["kinds"] = sorted(set(kinds))
    if scope is not None:
        if scope not in Scope.values:
            raise _invalid("scope", "customer or staff.")
        clean["scope"] = scope
    if team_id is not None:
        if team_id == "":
            clean["team_id"] = None
        else:
            try:
                team = ObjectId(str(team_id))
            except InvalidId as exc:
                raise _invalid("team_id", "No such team.") from exc
            if not Team.objects.filter(pk=team).exists():
                raise _invalid("team_id", "No such team.")
            clean["team_id"] = team
    if secret is not None and secret != "":
        if not isinstance(secret, str) or not SECRET_MIN <= len(secret) <= 128:
            raise _invalid("secret", f"{SECRET_MIN} to 128 characters.")
        clean["secret"] = secret
    if description is not None:
        if not isinstance(description, str) or len(description) > 200:
            raise _invalid("description", "At most 200 characters.")
        clean["description"] = description
    return clean


def endpoint_create(
    *,
    actor: User,
    url: str,
    kinds: list[str],
    scope: str = Scope.CUSTOMER,
    team_id: str | None = None,
    secret: str = "",
    description: str = "",
) -> dict[str, Any]:
    """A new endpoint; it gets what happens from now on. The answer holds the secret
    (generated when not given): the only time the API shows it."""
    _require_admin(actor)
    clean = _clean(
        url=url,
        kinds=kinds,
        scope=scope,
        team_id=team_id,
        secret=secret,
        description=description,
        partial=False,
    )
    clean.setdefault("secret", signing.secret_new())
    now = timezone.now()
    endpoint = WebhookEndpoint(
        created_by=actor, created_at=now, updated_at=now, scanned_to=now, **clean
    )
    endpoint.save(force_insert=True)
    return selectors.endpoint_dto(endpoint, with_secret=True)


def endpoint_update(*, actor: User, endpoint_id: Any, **changes: Any) -> dict[str, Any]:
    _require_admin(actor)
    endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
    clean = _clean(partial=True, **changes)
    if clean:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(updated_at=timezone.now(), **clean)
    return selectors.endpoint_detail(endpoint_id=endpoint.pk)


def endpoint_delete(*, actor: User, endpoint_id: Any) -> None:
    """The endpoint, its deliveries and its cursors."""
    _require_admin(actor)
    endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
    # Paused first (the worker stops scanning and sending for it), then its deliveries a
    # chunk per command, then the endpoint, whose cascade finds nothing left.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(status=EndpointStatus.PAUSED)
    mongo.delete_in_chunks(mongo.collection(WebhookDelivery), {"endpoint_id": endpoint.pk})
    endpoint.delete()
    # Its cursors stay in the rooms' cursor documents, and its entries in the sent rows
    # (the rows' history, purged with them): an id never used again.


def endpoint_pause(*, actor: User, endpoint_id: Any, reason: str = "") -> dict[str, Any]:
    _require_admin(actor)
    endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk, status=EndpointStatus.ACTIVE).update(
        status=EndpointStatus.PAUSED,
        paused_reason=reason or f"paused by {actor.username}",
        paused_at=now,
        updated_at=now,
    )
    return selectors.endpoint_detail(endpoint_id=endpoint.pk)


def endpoint_resume(*, actor: User, endpoint_id: Any) -> dict[str, Any]:
    """Active again, its failure count cleared; the outbox continues from its cursor
    (``scanned_to``), so nothing that happened while it was paused is lost."""
    _require_admin(actor)
    endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        status=EndpointStatus.ACTIVE,
        paused_reason="",
        paused_at=None,
        failing_since=None,
        consecutive_failures=0,
        updated_at=timezone.now(),
    )
    return selectors.endpoint_detail(endpoint_id=endpoint.pk)


def delivery_redeliver(*, actor: User, delivery_id: Any) -> dict[str, Any]:
    """A delivered or failed delivery goes back to pending, its attempts reset, with the
    same ``X-Webhook-Id``. A pending one is a conflict (it is on its way)."""
    _require_admin(actor)
    sent = selectors.sent_row_part(delivery_id)
    if sent is not None:
        found = _outbox_copy_of_sent(*sent)
    else:
        found = WebhookDelivery.objects.filter(pk=selectors.object_id(delivery_id)).first()
    if found is None:
        raise NotFound("No such delivery.")
    now = timezone.now()
    moved = WebhookDelivery.objects.filter(
        pk=found.pk, status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    ).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        queued_at=now,
        lease_until=None,
        lease_token="",
        updated_at=now,
    )
    if not moved:
        raise Conflict("That delivery is pending already.")
    found.refresh_from_db()
    return selectors.delivery_dto(found)


def _outbox_copy_of_sent(row_id: Any, endpoint_id: Any) -> WebhookDelivery | None:
    """The outbox's delivery for a sent row's endpoint: the one a redeliver made before,
    or a new one, delivered, with the same delivery id and body (then queued again like
    any delivered one)."""
    row = mongo.collection(WebhookSentRow).find_one({"_id": row_id})
    if row is None or str(endpoint_id) not in (row.get("sent") or {}):
        return None
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return None
    key = {"endpoint": endpoint, "room_id": row["room_id"], "seq": row["seq"], "kind": row["kind"]}
    found = WebhookDelivery.objects.filter(**key).first()
    if found is not None:
        return found
    entry = row["sent"][str(endpoint_id)]
    copy = WebhookDelivery(
        **key,
        delivery_id=entry["delivery_id"],
        payload=selectors.sent_payload(row, endpoint_id),
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        last_status_code=entry.get("status_code"),
    )
    try:
        copy.save(force_insert=True)
    except IntegrityError:  # another redeliver made it meanwhile
        return WebhookDelivery.objects.filter(**key).first()
    return copy


def endpoint_send_test(*, actor: User, endpoint_id: Any) -> dict[str, Any]:
    """Queue a ``webhook.test`` delivery (no room), sent like any other."""
    _require_admin(actor)
    endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
    now = timezone.now()
    seq = time.time_ns() // 1000  # unique per endpoint: there is no room to order by
    data = {"message": "A test event from the support chat.", "by": actor.username}
    outbox.enqueue(endpoint, kind=TEST_KIND, room_id=None, seq=seq, created_at=now, data=data)
    found = WebhookDelivery.objects.filter(endpoint=endpoint, kind=TEST_KIND, seq=seq).first()
    if found is None:
        raise Conflict("Could not queue the test event; try again.")
    return selectors.delivery_dto(found)
