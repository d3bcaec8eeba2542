"""Which fields of a user whom may see: decided here once, for REST and the socket.

Issue 18: customers read agents' e-mail addresses through ``GET /api/auth/agents/online``
while the socket's ``online-agents`` rightly left them out; each edge had its own rule.

- Public fields, to anyone signed in: ``id``, ``username``, ``display_name``, ``role``,
  ``status``, ``online``; of an agent also ``max_chats``, ``accepting_chats`` and
  ``active_chats`` (the contract's online-agents list shows a customer who is free).
- Account fields (``email``, ``last_seen_at``, ``date_joined``): only to the user
  themself and to admins. One exception (issue 31): a customer's e-mail address to the
  agent who holds (or held) their chat, in that chat's customer context
  (:func:`sees_customer_email`), so that the agent can follow up by mail.

Presence frames on the socket (``online-users``, ``online-agents``) are the public
shape for whoever asks (admins read account fields over REST or in the admin).
"""

from __future__ import annotations

from typing import Any

ACCOUNT_FIELDS = frozenset({"email", "last_seen_at", "date_joined"})


def sees_account_fields(*, viewer: Any | None, subject: Any) -> bool:
    """``viewer`` None: a frame shaped for any other signed-in user (presence)."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return viewer.pk == subject.pk or bool(viewer.is_admin)


def visible_to(data: dict[str, Any], *, viewer: Any | None, subject: Any) -> dict[str, Any]:
    """``data`` (a user's fields) without what ``viewer`` may not see of ``subject``."""
    if sees_account_fields(viewer=viewer, subject=subject):
        return data
    return {name: value for name, value in data.items() if name not in ACCOUNT_FIELDS}


def sees_customer_email(*, viewer: Any | None, customer: Any, serving: bool) -> bool:
    """``serving``: the caller checked that ``viewer`` is the agent of one of
    ``customer``'s chats (``chat.selectors.customer_context``)."""
    if sees_account_fields(viewer=viewer, subject=customer):
        return True
    return bool(serving and getattr(viewer, "is_agent", False))
