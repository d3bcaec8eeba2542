"""What a client may send: texts, client message ids, attachment lists (each
checked and returned as stored, or ``validation_error``)."""

from __future__ import annotations

from collections.abc import Iterable

from bson import ObjectId
from django.conf import settings

from chat_project.errors import ValidationFailed

CLIENT_MSG_ID_MAX = 64


def clean_text(text: object, *, allow_empty: bool = False, field: str = "text") -> str:
    """Raw text (stored and returned as given) whose trimmed length is 1..max."""
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    if not isinstance(text, str):
        raise ValidationFailed(details={"fields": {field: ["A string."]}})
    trimmed = len(text.strip())
    if (trimmed == 0 and not allow_empty) or trimmed > limit or len(text) > 2 * limit:
        raise ValidationFailed(
            f"Text must be 1 to {limit} characters.",
            details={"fields": {field: [f"1 to {limit} characters after trimming."]}},
        )
    return text


def clean_client_msg_id(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > CLIENT_MSG_ID_MAX
        or not value.isprintable()
    ):
        raise ValidationFailed(
            details={"fields": {"client_msg_id": [f"1 to {CLIENT_MSG_ID_MAX} characters."]}}
        )
    return value


def clean_attachment_ids(values: Iterable[object]) -> list[str]:
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
        raise ValidationFailed(details={"fields": {"attachment_ids": ["A list of ids."]}})
    if len(values) > settings.CHAT_MESSAGE_MAX_ATTACHMENTS:
        raise ValidationFailed(details={"fields": {"attachment_ids": ["Too many attachments."]}})
    ids: list[str] = []
    for value in values:
        if not isinstance(value, str) or not ObjectId.is_valid(value):
            raise ValidationFailed(details={"fields": {"attachment_ids": ["Unknown attachment."]}})
        if value.lower() not in ids:
            ids.append(value.lower())
    return ids
