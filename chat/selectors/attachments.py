"""Attachments: who may download which."""

from __future__ import annotations

from accounts.models import User
from chat import timeline
from chat.models import Attachment
from chat.selectors.rooms import can_see, object_id
from chat_project.errors import NotFound


def attachment_get_for_user(*, attachment_id: object, user: User) -> Attachment:
    """Participants of the attachment's room and admins; before it is sent only its
    uploader (and admins); a deleted message's files only admins. Else 404."""
    attachment = Attachment.objects.filter(pk=object_id(attachment_id)).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    room = timeline.room_by_id(attachment.room_id)
    if room is None or not can_see(room, user):
        raise NotFound("No such attachment.")
    if user.is_admin:
        return attachment
    if attachment.message_id is None:
        if attachment.uploader_id != user.pk:
            raise NotFound("No such attachment.")
    else:
        message = timeline.event_by_id(attachment.message_id)
        if message is None or message.deleted:
            raise NotFound("No such attachment.")
    return attachment
