"""Webhooks in the Django admin: endpoints (status, why paused, last success and failure,
pending and failed counts; pause, resume, send a test event), the outbox's deliveries (by
status and endpoint; redeliver) and the rows delivered at the first attempt (each
endpoint's status code and time; redeliver). Forms and actions parse and call
``integrations.services``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from agents.models import Team
from chat_project.admin_pages import ReadOnlyAdmin
from chat_project.errors import DomainError
from integrations import selectors, services
from integrations.models import (
    Scope,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSentRow,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="http or https.")
    kinds = forms.MultipleChoiceField(
        choices=WebhookKind.choices, widget=forms.CheckboxSelectMultiple
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, help_text="Only rooms of this team."
    )
    secret = forms.CharField(
        required=False,
        help_text="Leave empty to generate one (shown once, after saving).",
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "kinds", "scope", "description"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = [
        "url",
        "status",
        "paused_reason",
        "scope",
        "last_success_at",
        "last_failure_at",
        "pending",
        "failed",
    ]
    list_filter = ["status", "scope"]
    readonly_fields = [
        "status",
        "paused_reason",
        "paused_at",
        "last_success_at",
        "last_failure_at",
        "consecutive_failures",
        "created_by",
        "created_at",
    ]
    actions = ["pause", "resume", "send_test_event"]

    def get_fields(self, request, obj=None):
        fields = ["url", "kinds", "scope", "team", "description"]
        return [*fields, "secret"] if obj is None else fields + self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["team"].initial = obj.team_id
        return form

    @admin.display(description="pending")
    def pending(self, obj: WebhookEndpoint) -> int:
        return selectors.endpoint_counts(obj)["pending"]

    @admin.display(description="failed")
    def failed(self, obj: WebhookEndpoint) -> int:
        return selectors.endpoint_counts(obj)["failed"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            "url": data["url"],
            "kinds": list(data["kinds"]),
            "scope": data.get("scope") or Scope.CUSTOMER,
            "team_id": str(data["team"].pk) if data.get("team") else "",
            "description": data.get("description", ""),
        }
        if change:
            services.endpoint_update(actor=request.user, endpoint_id=obj.pk, **fields)
            return
        fields["team_id"] = fields["team_id"] or None
        created = services.endpoint_create(
            actor=request.user, secret=data.get("secret") or "", **fields
        )
        obj.pk = created["id"]
        self.message_user(
            request,
            f"Signing secret (shown once, keep it): {created['secret']}",
            messages.WARNING,
        )

    def delete_model(self, request, obj):
        services.endpoint_delete(actor=request.user, endpoint_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.endpoint_delete(actor=request.user, endpoint_id=obj.pk)

    def _each(self, request, queryset, call, done: str) -> None:
        for endpoint in queryset:
            try:
                call(actor=request.user, endpoint_id=endpoint.pk)
            except DomainError as exc:
                self.message_user(request, f"{endpoint.url}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{endpoint.url}: {done}", messages.SUCCESS)

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        self._each(request, queryset, services.endpoint_pause, "paused")

    @admin.action(description="Resume (continues from where it stopped)")
    def resume(self, request, queryset):
        self._each(request, queryset, services.endpoint_resume, "resumed")

    @admin.action(description="Send test event")
    def send_test_event(self, request, queryset):
        self._each(request, queryset, services.endpoint_send_test, "test event queued")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "endpoint",
        "room_id",
        "seq",
        "status",
        "attempts",
        "last_attempt_at",
        "last_status_code",
        "short_error",
        "delivery_id",
    ]
    list_filter = ["status", "endpoint"]
    actions = ["redeliver"]

    @admin.display(description="last error")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Redeliver (same delivery id, attempts reset)")
    def redeliver(self, request, queryset):
        moved = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(actor=request.user, delivery_id=delivery.pk)
                moved += 1
            except DomainError as exc:
                self.message_user(request, f"{delivery.delivery_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Queued again: {moved}.", messages.SUCCESS)


@admin.register(WebhookSentRow)
class WebhookSentRowAdmin(ReadOnlyAdmin):
    """Timeline rows every endpoint got at the first attempt, one line per row."""

    list_display = ["kind", "room_id", "seq", "endpoints", "created_at"]
    list_filter = ["kind"]
    fields = ["kind", "room_id", "seq", "created_at", "sent_to", "bodies"]
    readonly_fields = fields
    actions = ["redeliver"]

    @admin.display(description="endpoints")
    def endpoints(self, obj: WebhookSentRow) -> int:
        return len(obj.sent)

    @admin.display(description="sent to (endpoint: status code at time, delivery id)")
    def sent_to(self, obj: WebhookSentRow) -> str:
        return "; ".join(
            f"{endpoint}: {entry.get('status_code')} at {entry.get('at')}, "
            f"{entry.get('delivery_id')}"
            for endpoint, entry in obj.sent.items()
        )

    @admin.action(description="Redeliver to every endpoint it went to (same delivery ids)")
    def redeliver(self, request, queryset):
        moved = 0
        for row in queryset:
            for endpoint_id in row.sent:
                delivery_id = selectors.sent_delivery_id(row.pk, endpoint_id)
                try:
                    services.delivery_redeliver(actor=request.user, delivery_id=delivery_id)
                    moved += 1
                except DomainError as exc:
                    self.message_user(request, f"{delivery_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Queued again: {moved}.", messages.SUCCESS)
