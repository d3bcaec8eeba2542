"""Satisfaction (CSAT): once a room is closed, its customer may rate it once, 1 to 5 with
an optional comment, within ``CHAT_CSAT_WINDOW_SECONDS`` of the close.

The rating is a ``rated`` timeline event, written by the one compare-and-set the writer
lets into a closed room (``Append.allow_closed``): it requires the room's customer,
``status: closed`` and no rating yet (``rated_at: null``), and sets the room's
``rating``, ``rating_comment`` and ``rated_at`` in the same single-document update, so
two ratings racing for one room cannot both win. ``room-rated`` goes to the room's staff
and to its agent's sockets; the statistics read the rooms (``adminstats``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat import dtos, events, render, selectors
from chat.exceptions import AlreadyRated, RatingUnavailable
from chat.models import EventKind, RoomEvent, RoomStatus
from chat.services import outcomes
from chat.writer import Append
from chat_project.errors import PermissionDenied, ValidationFailed

RATING_SCORES = range(1, 6)
RATING_COMMENT_MAX = 1000


def _clean(score: object, comment: object) -> tuple[int, str]:
    if isinstance(score, bool) or not isinstance(score, int) or score not in RATING_SCORES:
        raise ValidationFailed(details={"fields": {"score": ["An integer from 1 to 5."]}})
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment.strip()) > RATING_COMMENT_MAX:
        raise ValidationFailed(
            details={"fields": {"comment": [f"At most {RATING_COMMENT_MAX} characters."]}}
        )
    return score, comment.strip()


def room_rate(*, room_id: str, customer: User, score: int, comment: str = "") -> dict[str, Any]:
    """The room's customer rates it: ``{"room_id", "seq", "rating"}``. ``already_rated``
    after the first rating; ``rating_unavailable`` while the room is open or once the
    window has passed."""
    if customer.is_agent or customer.is_admin:
        raise PermissionDenied("Only the room's customer rates it.")
    room = selectors.room_get_for_user(room_id=room_id, user=customer)
    score, comment = _clean(score, comment)
    if room.rated_at is not None:
        raise AlreadyRated()
    if room.status != RoomStatus.CLOSED or room.closed_at is None:
        raise RatingUnavailable("A chat can be rated once it is closed.")
    now = timezone.now()
    if now - room.closed_at > timedelta(seconds=settings.CHAT_CSAT_WINDOW_SECONDS):
        raise RatingUnavailable("The time to rate this chat has passed.")
    event = RoomEvent(
        room_id=room.pk,
        kind=EventKind.RATED,
        created_at=now,
        actor=customer,
        data={"score": score, "comment": comment},
    )
    # The room's agent has usually left the closed room by then: every socket of
    # theirs hears of it too.
    agent = ((room.agent_id, render.Audience.AGENT),) if room.agent_id else ()
    op = Append(
        room_id=room.pk,
        event=event,
        require={
            "customer_id": customer.pk,
            "status": RoomStatus.CLOSED.value,
            "rated_at": None,
        },
        set_fields={"rating": score, "rating_comment": comment, "rated_at": now},
        allow_closed=True,
        known_seq=room.last_seq,
        notice=events.Notice(
            scene=render.Scene(room=None, users={str(customer.pk): customer}), tell_users=agent
        ),
    )
    outcomes.written(op, conflict=AlreadyRated)
    rating = {"score": score, "comment": comment, "rated_at": dtos.iso(now)}
    return {"room_id": str(room.pk), "seq": event.seq, "rating": rating}
