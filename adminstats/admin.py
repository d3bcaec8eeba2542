"""The admin's own action log, read-only: every change made through the admin pages
and every room action (close, route, transfer, requeue) is a ``LogEntry``; routing
changes are also in the routing audit log (agents)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from chat_project.admin_pages import PageLookupMixin, ReadOnlyAdmin, name_of


@admin.register(LogEntry)
class LogEntryAdmin(PageLookupMixin, ReadOnlyAdmin):
    page_user_fields = ("user_id",)
    list_display = ("action_time", "user_name", "action_flag", "object_kind", "object_repr", "what")
    list_filter = ("action_flag",)
    search_fields = ("object_repr", "change_message")
    ordering = ("-action_time",)
    fields = (
        "action_time",
        "user_name",
        "action_flag",
        "object_kind",
        "object_id",
        "object_repr",
        "what",
    )
    readonly_fields = fields

    @admin.display(description="by")
    def user_name(self, obj):
        return name_of(obj, obj.user_id)

    @admin.display(description="object type")
    def object_kind(self, obj):
        if obj.content_type_id is None:
            return "—"
        # ContentType's own cache: no query after the first per type.
        return ContentType.objects.get_for_id(obj.content_type_id).name

    @admin.display(description="change")
    def what(self, obj):
        return obj.get_change_message()
