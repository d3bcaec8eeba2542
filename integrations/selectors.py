"""Reads: endpoints and deliveries as the admin API and the admin pages show them."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from chat import dtos
from chat_project.errors import NotFound, ValidationFailed
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DELIVERIES_MAX_LIMIT = 200


def object_id(value: Any) -> ObjectId:
    try:
        return value if isinstance(value, ObjectId) else ObjectId(str(value))
    except (InvalidId, TypeError) as exc:
        raise NotFound() from exc


def endpoint_get(*, endpoint_id: Any) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(pk=object_id(endpoint_id)).first()
    if found is None:
        raise NotFound("No such webhook endpoint.")
    return found


def endpoint_counts(endpoint: WebhookEndpoint) -> dict[str, int]:
    """Pending and failed deliveries of one endpoint (admin list, REST)."""
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    return {
        "pending": rows.filter(status=DeliveryStatus.PENDING).count(),
        "failed": rows.filter(status=DeliveryStatus.FAILED).count(),
    }


def endpoint_dto(
    endpoint: WebhookEndpoint, *, with_secret: bool = False, counts: bool = True
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "kinds": list(endpoint.kinds),
        "scope": endpoint.scope,
        "team_id": str(endpoint.team_id) if endpoint.team_id else None,
        "description": endpoint.description,
        "status": endpoint.status,
        "paused_reason": endpoint.paused_reason,
        "paused_at": dtos.iso(endpoint.paused_at),
        "created_by": str(endpoint.created_by_id) if endpoint.created_by_id else None,
        "created_at": dtos.iso(endpoint.created_at),
        "updated_at": dtos.iso(endpoint.updated_at),
        "last_success_at": dtos.iso(endpoint.last_success_at),
        "last_failure_at": dtos.iso(endpoint.last_failure_at),
        "consecutive_failures": endpoint.consecutive_failures,
    }
    if counts:
        data["deliveries"] = endpoint_counts(endpoint)
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def endpoint_list() -> list[dict[str, Any]]:
    return [endpoint_dto(e) for e in WebhookEndpoint.objects.all()]


def endpoint_detail(*, endpoint_id: Any) -> dict[str, Any]:
    return endpoint_dto(endpoint_get(endpoint_id=endpoint_id))


def delivery_dto(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.pk),
        "delivery_id": str(delivery.delivery_id),
        "endpoint_id": str(delivery.endpoint_id),
        "kind": delivery.kind,
        "room_id": str(delivery.room_id) if delivery.room_id else None,
        "seq": delivery.seq,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": dtos.iso(delivery.next_attempt_at),
        "last_attempt_at": dtos.iso(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": dtos.iso(delivery.delivered_at),
        "created_at": dtos.iso(delivery.created_at),
        "payload": delivery.payload,
    }


def delivery_list(
    *, endpoint_id: Any, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """An endpoint's deliveries, newest first."""
    endpoint = endpoint_get(endpoint_id=endpoint_id)
    if status is not None and status not in DeliveryStatus.values:
        raise ValidationFailed(details={"fields": {"status": ["Unknown status."]}})
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status is not None:
        rows = rows.filter(status=status)
    limit = max(1, min(int(limit), DELIVERIES_MAX_LIMIT))
    return [delivery_dto(d) for d in rows.order_by("-created_at", "-id")[:limit]]
