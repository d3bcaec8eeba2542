"""Canned responses: saved answers with a shortcut. Shared ones are managed by admins;
each agent (and admin) keeps personal ones. An agent never sees another's personal
responses (a 404, as for a room they may not see); changing a shared one is for admins
(403). A shortcut is unique per scope (the shared set, or one owner's), enforced by a
unique index: a duplicate is ``conflict``."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from accounts.models import User
from agents.models import CannedResponse
from chat.dtos import iso, user_brief
from chat.selectors import object_id
from chat.services.inputs import clean_text
from chat_project.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

SHORTCUT_MAX = 32
# Per scope: a console loads all of a user's (shared and own) at once.
CANNED_MAX_SHARED = 1000
CANNED_MAX_PERSONAL = 500
_SHORTCUT = re.compile(r"[^\W_][\w-]*")


def clean_shortcut(value: object) -> str:
    """Trimmed, without a leading ``/``, casefolded: letters, digits, ``_`` and ``-``."""
    shortcut = value.strip().removeprefix("/").casefold() if isinstance(value, str) else ""
    if not shortcut or len(shortcut) > SHORTCUT_MAX or not _SHORTCUT.fullmatch(shortcut):
        raise ValidationFailed(
            details={
                "fields": {
                    "shortcut": [
                        f"1 to {SHORTCUT_MAX} letters, digits, _ or -, "
                        "starting with a letter or digit."
                    ]
                }
            }
        )
    return shortcut


def _require_staff(user: User) -> None:
    if not (user.is_agent or user.is_admin):
        raise PermissionDenied("Only agents and admins have canned responses.")


def canned_dto(item: CannedResponse, *, owner: User | None = None) -> dict[str, Any]:
    return {
        "id": str(item.pk),
        "shortcut": item.shortcut,
        "text": item.text,
        "shared": item.shared,
        "owner": user_brief(owner) if owner is not None else None,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def canned_get_for_change(*, canned_id: object, user: User) -> CannedResponse:
    """A response ``user`` may change: their own, or (admins) a shared one. Another's
    personal one does not exist for them; a shared one is 403 for agents."""
    _require_staff(user)
    item = CannedResponse.objects.filter(pk=object_id(canned_id)).first()
    if item is None or (not item.shared and item.owner_id != user.pk):
        raise NotFound("No such canned response.")
    if item.shared and not user.is_admin:
        raise PermissionDenied("Only admins change shared canned responses.")
    return item


def _save(item: CannedResponse, *, update_fields: list[str] | None = None) -> None:
    try:
        if update_fields is None:
            item.save(force_insert=True)
        else:
            item.save(update_fields=update_fields)
    except IntegrityError:
        raise Conflict(
            f"/{item.shortcut} exists already.",
            details={"fields": {"shortcut": ["Already in use."]}},
        ) from None


def canned_create(*, user: User, shortcut: str, text: str, shared: bool = False) -> dict[str, Any]:
    """A personal response of ``user``, or (admins, ``shared``) a shared one."""
    _require_staff(user)
    if shared and not user.is_admin:
        raise PermissionDenied("Only admins create shared canned responses.")
    item = CannedResponse(
        owner=None if shared else user,
        scope=CannedResponse.SHARED if shared else str(user.pk),
        shortcut=clean_shortcut(shortcut),
        text=clean_text(text),
        created_by=user,
    )
    cap = CANNED_MAX_SHARED if shared else CANNED_MAX_PERSONAL
    if CannedResponse.objects.filter(scope=item.scope).count() >= cap:
        raise ValidationFailed(f"At most {cap} canned responses here; delete one first.")
    _save(item)
    return canned_dto(item, owner=None if shared else user)


def canned_update(
    *, canned_id: object, user: User, shortcut: str | None = None, text: str | None = None
) -> dict[str, Any]:
    item = canned_get_for_change(canned_id=canned_id, user=user)
    fields = ["updated_at"]
    if shortcut is not None:
        item.shortcut = clean_shortcut(shortcut)
        fields.append("shortcut")
    if text is not None:
        item.text = clean_text(text)
        fields.append("text")
    item.updated_at = timezone.now()
    _save(item, update_fields=fields)
    return canned_dto(item, owner=None if item.shared else user)


def canned_delete(*, canned_id: object, user: User) -> None:
    item = canned_get_for_change(canned_id=canned_id, user=user)
    CannedResponse.objects.filter(pk=item.pk).delete()
