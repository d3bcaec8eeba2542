"""Reads: endpoints and deliveries as the admin API and the admin pages show them."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from chat import dtos
from chat_project import mongo
from chat_project.errors import NotFound, ValidationFailed
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSentRow

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


# A delivery recorded in a ``WebhookSentRow`` is named "<row id>-<endpoint id>" in the API.
SENT_ID_SEPARATOR = "-"


def sent_delivery_id(row_id: Any, endpoint_id: Any) -> str:
    return f"{row_id}{SENT_ID_SEPARATOR}{endpoint_id}"


def sent_row_part(delivery_id: str) -> tuple[ObjectId, ObjectId] | None:
    """(row id, endpoint id) of a sent row's delivery id, or None for an outbox one."""
    row_id, separator, endpoint_id = str(delivery_id).partition(SENT_ID_SEPARATOR)
    if not separator:
        return None
    return object_id(row_id), object_id(endpoint_id)


def sent_payload(row: dict[str, Any], endpoint_id: Any) -> dict[str, Any]:
    """The body an endpoint was sent, as recorded in a sent row."""
    entry = row["sent"][str(endpoint_id)]
    return {"id": entry["delivery_id"], **row["bodies"][entry["scope"]]}


def sent_delivery_dto(row: dict[str, Any], endpoint_id: Any) -> dict[str, Any]:
    """A first-attempt success, shaped as any delivery."""
    entry = row["sent"][str(endpoint_id)]
    at = entry.get("at")
    return {
        "id": sent_delivery_id(row["_id"], endpoint_id),
        "delivery_id": entry["delivery_id"],
        "endpoint_id": str(endpoint_id),
        "kind": row["kind"],
        "room_id": str(row["room_id"]),
        "seq": row["seq"],
        "status": DeliveryStatus.DELIVERED.value,
        "attempts": 1,
        "next_attempt_at": at,
        "last_attempt_at": at,
        "last_status_code": entry.get("status_code"),
        "last_error": "",
        "delivered_at": at,
        "created_at": dtos.iso(row["created_at"]),
        "payload": sent_payload(row, endpoint_id),
    }


def delivery_list(
    *, endpoint_id: Any, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """An endpoint's deliveries, newest first: the outbox's, and (unless another status
    is asked for) the first-attempt successes of the sent rows. The sent rows are read
    newest first until ``limit`` hold the endpoint: an admin's read, not an indexed one
    (an index on every endpoint of every row would cost each record)."""
    endpoint = endpoint_get(endpoint_id=endpoint_id)
    if status is not None and status not in DeliveryStatus.values:
        raise ValidationFailed(details={"fields": {"status": ["Unknown status."]}})
    rows = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status is not None:
        rows = rows.filter(status=status)
    limit = max(1, min(int(limit), DELIVERIES_MAX_LIMIT))
    found = [(d.created_at, delivery_dto(d)) for d in rows.order_by("-created_at", "-id")[:limit]]
    if status in (None, DeliveryStatus.DELIVERED):
        key = f"sent.{endpoint.pk}"
        sent = mongo.collection(WebhookSentRow).find({key: {"$exists": True}})
        for row in sent.sort("_id", -1).limit(limit):
            found.append((row["created_at"], sent_delivery_dto(row, endpoint.pk)))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [dto for _, dto in found[:limit]]
