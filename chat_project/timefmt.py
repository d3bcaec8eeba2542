"""Times on the wire: ISO 8601, UTC, milliseconds (the contract's one format)."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework import serializers


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class IsoMsDateTimeField(serializers.DateTimeField):
    def to_representation(self, value: datetime | None) -> str | None:
        return iso_ms(value)
