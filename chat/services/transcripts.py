"""A closed chat's transcript by e-mail (issue 30): its customer asks for it, it goes to
their account's address, in plain text.

What it holds is what the customer's own replay holds: every row rendered for the
customer audience by ``chat.render`` (``selectors.room_replay``), so private notes,
tags and SLA flags (``STAFF_KINDS``) are never in it, nor a deleted message's text.
Rate-limited per customer (TRANSCRIPT_MAX_PER_HOUR, a Redis counter per hour)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_redis import get_redis_connection

from accounts.models import User
from chat import dtos, selectors
from chat.models import RoomStatus
from chat_project.errors import (
    Conflict,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

TRANSCRIPT_MAX_EVENTS = 20_000
RATE_KEY = "chat:transcripts:{user_id}:{hour}"


def _name(user: dict[str, Any] | None, fallback: str) -> str:
    if not user:
        return fallback
    return user.get("display_name") or user.get("username") or fallback


def _at(stamp: str | None) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")


def transcript_lines(events: list[dict[str, Any]]) -> list[str]:
    """The rendered events (the customer's view) as lines of text."""
    lines = []
    for item in events:
        name, data = item["event"], item["data"]
        if name == "new-message":
            message = data["message"]
            if message.get("deleted"):
                continue
            who = _name(message.get("sender"), "Someone")
            text = message.get("text", "")
            files = ", ".join(a["filename"] for a in message.get("attachments") or [])
            if files:
                text = f"{text} [files: {files}]".strip()
            lines.append(f"[{_at(message.get('created_at'))}] {who}: {text}")
        elif name == "room-assigned":
            lines.append(f"--- {_name(data.get('agent'), 'An agent')} joined the chat")
        elif name == "room-transferred":
            moved = "Transferred to " + _name(data.get("to_agent"), "another agent")
            lines.append(f"--- {data.get('text') or moved}")
        elif name == "system-message":
            lines.append(f"--- {data.get('text', '')}")
        elif name == "room-closed":
            lines.append("--- The chat was closed")
    return lines


def _rate_check(user: User) -> None:
    client = get_redis_connection("default")
    hour = int(time.time() // 3600)
    key = RATE_KEY.format(user_id=user.pk, hour=hour)
    count = client.incr(key)
    if count == 1:
        client.expire(key, 3700)
    if count > settings.TRANSCRIPT_MAX_PER_HOUR:
        retry = 3600 - int(time.time()) % 3600
        raise RateLimited("Too many transcripts asked for; try later.", retry_after=retry)


def room_transcript_email(*, room_id: str, customer: User) -> dict[str, Any]:
    """``POST /api/chat/rooms/{id}/transcript``: e-mail the closed room's transcript to
    its customer's address. ``{"room_id", "email", "sent_at"}``."""
    room = selectors.room_get_for_user(room_id=room_id, user=customer)
    if room.customer_id != customer.pk:
        raise PermissionDenied("Only the chat's customer asks for its transcript.")
    if room.status != RoomStatus.CLOSED:
        raise Conflict("The chat is still open.", details={"status": room.status})
    if not customer.email:
        raise ValidationFailed(
            "Your account has no e-mail address.", details={"fields": {"email": ["Missing."]}}
        )
    _rate_check(customer)
    replay = selectors.room_replay(
        room_id=str(room.pk), user=customer, after_seq=0, max_events=TRANSCRIPT_MAX_EVENTS
    )
    subject = f"Your chat of {room.created_at:%Y-%m-%d}" + (
        f": {room.subject}" if room.subject else ""
    )
    body = "\n".join([subject, "", *transcript_lines(replay["events"]), ""])
    try:
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[customer.email],
            fail_silently=False,
        )
    except Exception:
        logger.warning("transcript of %s: e-mail failed", room.pk, exc_info=True)
        raise ServiceUnavailable("The e-mail could not be sent; try again later.") from None
    return {"room_id": str(room.pk), "email": customer.email, "sent_at": dtos.iso(timezone.now())}
