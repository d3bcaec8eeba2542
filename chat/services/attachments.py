"""Attachments: stored on upload (type from the bytes, name from the server), linked
to a message when it is sent, opened for download under the room's rules."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import storages

from accounts.models import User
from chat import dtos, selectors
from chat.attachments import EXTENSIONS, safe_filename, sniff_file
from chat.exceptions import RoomClosed
from chat.models import Attachment
from chat.services import participants
from chat_project.errors import ValidationFailed


def attachment_upload(*, room_id: str, uploader: User, file) -> dict[str, Any]:
    """Store an uploaded file for a later send. The size cap was enforced while the
    body streamed in (``attachments.CappedUploadHandler``); here the type comes from
    the bytes and the storage name from the server."""
    room = selectors.room_get_for_user(room_id=room_id, user=uploader)
    participants.require_participant(room, uploader)
    if not room.is_open:
        raise RoomClosed()
    if file is None:
        raise ValidationFailed(details={"fields": {"file": ["A file is required."]}})
    size = int(file.size or 0)
    if size == 0:
        raise ValidationFailed(details={"fields": {"file": ["The file is empty."]}})
    content_type = sniff_file(file)
    filename = safe_filename(getattr(file, "name", ""), content_type)
    storage = storages[settings.CHAT_ATTACHMENT_STORAGE]
    name = f"chat/{room.pk}/{uuid.uuid4().hex}{EXTENSIONS.get(content_type, '')}"
    stored_name = storage.save(name, file)
    attachment = Attachment.objects.create(
        room=room,
        uploader=uploader,
        storage_name=stored_name,
        filename=filename,
        content_type=content_type,
        size=size,
    )
    return dtos.attachment_dto(attachment)


def attachment_open(*, attachment_id: str, user: User) -> tuple[Attachment, Any]:
    """The attachment and an open file for a download (see the selector's rule)."""
    attachment = selectors.attachment_get_for_user(attachment_id=attachment_id, user=user)
    storage = storages[settings.CHAT_ATTACHMENT_STORAGE]
    return attachment, storage.open(attachment.storage_name, "rb")
