"""The customer context of a room (issue 31, item 16): what the agent of a chat (or an
admin) sees of its customer beside the conversation: who they are, whether they are
online now, their e-mail address (``accounts.visibility.sees_customer_email``: the
room's agent may see it) and their other chats, newest first.

A customer is refused before anything is read (``permission_denied``); an agent asking
about a room that is not theirs gets ``not_found``, as for the room itself."""

from __future__ import annotations

from typing import Any

from accounts import presence, visibility
from accounts.models import User
from chat import dtos, timeline
from chat.selectors.rooms import require_staff, room_get_for_user

PREVIOUS_LIMIT = 10


def customer_context(*, room_id: object, user: User) -> dict[str, Any]:
    """``{room_id, customer, previous, more}``: ``customer`` is the brief user with
    ``status``, ``online``, ``email`` (null when the viewer may not see it) and
    ``date_joined``; ``previous`` the customer's other rooms, newest first, at most
    ``PREVIOUS_LIMIT`` (``more``: there are older ones). Reads: the room, the customer's
    rooms by the (customer, status) index, the users in one query, one presence lookup."""
    require_staff(user, "see a customer's context")
    room = room_get_for_user(room_id=room_id, user=user)
    rows = timeline.rooms({"customer_id": room.customer_id}, limit=PREVIOUS_LIMIT + 2)
    others = [row for row in rows if row.pk != room.pk]
    more = len(others) > PREVIOUS_LIMIT
    others = others[:PREVIOUS_LIMIT]
    users = dtos.users_by_id({room.customer_id} | {r.agent_id for r in others}, known=[user])
    customer = users[str(room.customer_id)]
    serving = room.agent_id == user.pk
    email = visibility.sees_customer_email(viewer=user, customer=customer, serving=serving)
    return {
        "room_id": str(room.pk),
        "customer": {
            **dtos.user_brief(customer),
            "status": customer.status,
            "online": presence.is_online(str(customer.pk)),
            "email": (customer.email or None) if email else None,
            "date_joined": dtos.iso(customer.date_joined),
        },
        "previous": [
            {
                "id": str(other.pk),
                "subject": other.subject,
                "status": other.status,
                "created_at": dtos.iso(other.created_at),
                "closed_at": dtos.iso(other.closed_at),
                "agent": dtos.user_brief(users.get(str(other.agent_id))),
                "rating": dtos.rating_dto(other),
            }
            for other in others
        ],
        "more": more,
    }
