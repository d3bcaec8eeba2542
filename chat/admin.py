"""Read-only admin pages: rooms and their timelines are written by chat.services only
(``last_seq`` and the watermarks change by single-document operators, and a model
``save()`` would write stale copies back)."""

from django.contrib import admin

from chat.models import Attachment, Room, RoomEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    # Foreign keys stay out of list_display: select_related() would join the whole
    # collection before filtering on this backend.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "subject", "created_at", "closed_at", "last_seq")
    list_filter = ("status",)
    search_fields = ("subject",)


@admin.register(RoomEvent)
class RoomEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "room_id", "seq", "kind", "created_at", "deleted")
    list_filter = ("kind", "deleted")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "room_id", "filename", "content_type", "size", "created_at")
