from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "display_name",
        "email",
        "role",
        "status",
        "is_active",
        "last_seen_at",
    )
    list_filter = ("role", "status", "is_active")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Support", {"fields": ("role", "display_name", "status", "last_seen_at")}),
        (
            "Agent capacity",
            {"fields": ("max_chats", "accepting_chats", "active_chats", "last_assigned_at")},
        ),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Support", {"fields": ("role", "display_name", "email")}),
    )
    readonly_fields = ("active_chats", "last_assigned_at", "last_seen_at")
