"""Times on the wire: ISO 8601, UTC, milliseconds (the contract's one format); and
durations as people read them (the admin, ``manage.py chat_stats``)."""

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


def duration(seconds: float | None) -> str:
    """Seconds as a short human duration: 45 s, 12 min 5 s, 3 h 07 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
