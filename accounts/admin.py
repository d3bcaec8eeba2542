"""Users in the Django admin: filter by role and status, search by name or email.

An existing user is saved field by field (``accounts.services.user_update``): the change
form must not write back a stale ``active_chats`` (moved by routing's conditional updates
meanwhile), and deactivation, a role change, a new password or deleting the account
closes the user's sockets.
Status and the accepting switch go through ``accounts.services.user_set_status`` like
the API, so clients hear the change and routing drains the queue.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm

from accounts import presence, services
from accounts.models import ClearedEmail, User
from chat_project.admin_pages import PageLookupMixin, ReadOnlyAdmin, name_of

_STATUS_FIELDS = {"status", "accepting_chats"}


class PasswordOnlyChangeForm(AdminPasswordChangeForm):
    """The admin's password page writes the password alone, never a stale copy of the
    rest of the user, through ``services.user_update`` (which closes the user's sockets)."""

    def save(self, commit=True):
        user = super().save(commit=False)
        if commit:
            services.user_update(user=user, fields=["password"])
        return user


class LookAlikeNamesMixin:
    """The rules of ``accounts.names`` on the admin's user forms (as registration)."""

    def clean(self):
        cleaned = super().clean()
        username = cleaned.get("username", getattr(self.instance, "username", ""))
        problems = services.user_name_problems(
            username=username or "",
            display_name=cleaned.get("display_name", self.instance.display_name) or "",
            role=cleaned.get("role", self.instance.role),
            exclude_pk=self.instance.pk,
        )
        for field, messages in problems.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)
        return cleaned


class UniqueEmailMixin:
    """An address another account has, whatever its case, is refused (issue 27), as at
    registration; no address at all is allowed for any number of users."""

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip()
        for message in services.email_problems(email=email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(message)
        return email


class UserAddForm(UniqueEmailMixin, LookAlikeNamesMixin, AdminUserCreationForm):
    pass


class UserEditForm(UniqueEmailMixin, LookAlikeNamesMixin, UserChangeForm):
    pass


@admin.register(User)
class UserAdmin(PageLookupMixin, DjangoUserAdmin):
    list_display = (
        "username",
        "display_name",
        "email",
        "role",
        "status",
        "online",
        "is_active",
        "last_seen_at",
    )
    list_filter = ("role", "status", "is_active")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    show_full_result_count = False
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
    change_password_form = PasswordOnlyChangeForm
    add_form = UserAddForm
    form = UserEditForm

    def decorate_page(self, request, rows):
        online = presence.online_user_ids()
        for row in rows:
            row._online = str(row.pk) in online

    @admin.display(description="online", boolean=True)
    def online(self, obj):
        return presence.is_online_on_page(obj)

    def delete_model(self, request, obj):
        services.user_delete(user=obj)  # the user's sockets close

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user=user)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        concrete = {f.name for f in User._meta.concrete_fields}
        changed = set(form.changed_data)
        # Customers and admins have no accepting switch: theirs is saved as a plain field.
        status_fields = _STATUS_FIELDS if obj.is_agent else {"status"}
        fields = (changed & concrete) - status_fields
        # Deactivation and a role change close the user's sockets (issue 28).
        services.user_update(user=obj, fields=fields)
        if changed & status_fields:
            services.user_set_status(
                user=obj,
                status=obj.status,
                accepting_chats=obj.accepting_chats if obj.is_agent else None,
            )


@admin.register(ClearedEmail)
class ClearedEmailAdmin(PageLookupMixin, ReadOnlyAdmin):
    """What migration 0003 did: each address it cleared from an account, and who kept it."""

    list_display = ["email", "account", "kept_by_account", "cleared_at"]
    search_fields = ["email"]
    page_user_fields = ("user_id", "kept_by_id")

    @admin.display(description="cleared from")
    def account(self, obj: ClearedEmail) -> str:
        return name_of(obj, obj.user_id)

    @admin.display(description="kept by")
    def kept_by_account(self, obj: ClearedEmail) -> str:
        return name_of(obj, obj.kept_by_id)
