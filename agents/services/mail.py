"""Messages left while a team is closed, e-mailed to the team's address (issue 30).

Durable without a queue: the message is saved first (``OfflineMessage``), the e-mail
goes after, and ``emailed_at`` is set only once the mail server accepted it. The
periodic hook (``timers.routing_timers_tick``) retries the unsent ones of the last
OFFLINE_EMAIL_RETRY_WINDOW_HOURS once they are OFFLINE_EMAIL_RETRY_SECONDS old, so a
crash or an unreachable server between the save and the send loses nothing (the team
may get one twice: at least once, never none)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_mongodb_backend.queryset import MongoQuerySet

from agents.directory import directory
from agents.models import OfflineMessage
from chat_project import mongo

logger = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(hours=24)
RETRY_BATCH = 50


def offline_message_email(*, left: OfflineMessage) -> bool:
    """E-mail one offline message to its team's address; True once sent (and marked).
    False: nobody to send to (no team, a blank address) or the server refused (logged;
    the periodic hook tries again)."""
    team = directory().team(left.team_id)
    if team is None or not team.email:
        return False
    body = (
        f"A customer wrote while {team.name} was closed.\n\n"
        f"Reply to: {left.email}\n"
        f"Chat: {left.room_id}\n"
        f"Left at: {left.created_at:%Y-%m-%d %H:%M %Z}\n\n"
        f"{left.message}\n"
    )
    try:
        send_mail(
            subject=f"[{team.name}] Message left while closed",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[team.email],
            fail_silently=False,
        )
    except Exception:
        logger.warning(
            "offline message %s: e-mail to %s failed", left.pk, team.email, exc_info=True
        )
        return False
    left.emailed_at = timezone.now()
    OfflineMessage.objects.filter(pk=left.pk, emailed_at=None).update(emailed_at=left.emailed_at)
    return True


def offline_messages_retry(*, now: datetime | None = None) -> int:
    """Send the unsent offline messages that are due a retry; how many went. One range
    on the (emailed_at, created_at) index."""
    now = now or timezone.now()
    newest = now - timedelta(seconds=settings.OFFLINE_EMAIL_RETRY_SECONDS)
    first = mongo.index_match(
        {"emailed_at": None}, ("created_at", {"$gte": now - RETRY_WINDOW, "$lte": newest})
    )
    pipeline = [{"$match": first}, {"$sort": {"created_at": 1}}, {"$limit": RETRY_BATCH}]
    sent = 0
    for left in MongoQuerySet(model=OfflineMessage).raw_aggregate(pipeline):
        sent += offline_message_email(left=left)
    return sent
