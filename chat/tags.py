"""What a tag is (shared by the tag service, the room filters and the admin): a short
label agents and admins put on a room to find and count its kind of chat later."""

from __future__ import annotations

import re

from chat_project.errors import ValidationFailed

TAG_MAX_CHARS = 32
TAGS_PER_ROOM = 20
# Letters, digits, "_" and "-" (any script), starting with a letter or digit.
_TAG = re.compile(r"[^\W_][\w-]*")


def clean_tag(value: object, *, field: str = "tag") -> str:
    """A tag as stored: trimmed and casefolded (``Billing`` and ``billing`` are one tag),
    1 to ``TAG_MAX_CHARS`` characters, or ``validation_error``."""
    tag = value.strip().casefold() if isinstance(value, str) else ""
    if not tag or len(tag) > TAG_MAX_CHARS or not _TAG.fullmatch(tag):
        raise ValidationFailed(
            details={
                "fields": {
                    field: [
                        f"1 to {TAG_MAX_CHARS} letters, digits, _ or -, "
                        "starting with a letter or digit."
                    ]
                }
            }
        )
    return tag
