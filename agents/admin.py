"""Agents, the routing audit log and canned responses in the Django admin, for support
managers.

Agents are a proxy of the user model (``agents.models.Agent``): capacity, the
accepting switch, live presence and current load, with ``max_chats`` and the switch
editable right in the list. Changes go through the services: status and the switch
through ``accounts.services.user_set_status`` (which tells clients and routing), other
fields are saved alone (``update_fields``: never a stale ``active_chats``), and any
change that may free capacity drains the queue at once. Shared canned responses are
created and changed here through ``agents.services.canned``; agents' personal ones are
listed read-only.
"""

from __future__ import annotations

from bson import ObjectId
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts import presence
from accounts import services as account_services
from accounts.models import Role, Status, User
from agents import services as routing
from agents.admin_teams import (
    AgentSkillInline,
    AgentTeamInline,
    TeamListFilter,
    labelled_rooms,
    set_room_skills,
    team_column,
    transfer_rooms_to_team,
)
from agents.directory import directory
from agents.models import Agent, CannedResponse, RoutingAudit
from agents.services import canned as canned_services
from chat import selectors as chat_selectors
from chat.admin import RoomAdmin, RoomColumn
from chat.models import Room, RoomStatus
from chat_project.admin_pages import PageLookupMixin, ReadOnlyAdmin, name_of
from chat_project.errors import Conflict, DomainError

_STATUS_FIELDS = {"status", "accepting_chats"}
_SAVED_FIELDS = {"display_name", "max_chats", "is_active"}


@admin.register(Agent)
class AgentAdmin(PageLookupMixin, admin.ModelAdmin):
    list_display = (
        "username",
        "display_name",
        "status",
        "accepting_chats",
        "online",
        "load",
        "max_chats",
        "last_assigned_at",
    )
    list_editable = ("accepting_chats", "max_chats")
    list_filter = ("status", "accepting_chats", "is_active")
    search_fields = ("username", "display_name")
    ordering = ("username",)
    show_full_result_count = False
    fields = (
        "username",
        "display_name",
        "is_active",
        "status",
        "accepting_chats",
        "max_chats",
        "online",
        "load",
        "active_rooms",
        "last_assigned_at",
        "last_seen_at",
    )
    readonly_fields = (
        "username",
        "online",
        "load",
        "active_rooms",
        "last_assigned_at",
        "last_seen_at",
    )
    actions = ("recount_loads",)
    inlines = (AgentTeamInline, AgentSkillInline)  # issue 15

    def has_add_permission(self, request) -> bool:
        return False  # agents are created as users (Users page, create_agent, the API)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def decorate_page(self, request, rows):
        online = presence.online_user_ids()
        counts = chat_selectors.active_room_counts()
        for row in rows:
            row._online = str(row.pk) in online
            row._active_rooms = counts.get(row.pk, 0)

    @admin.display(description="online", boolean=True)
    def online(self, obj):
        return presence.is_online_on_page(obj)

    @admin.display(description="load")
    def load(self, obj):
        return f"{obj.active_chats} / {obj.max_chats}"

    @admin.display(description="active rooms (counted)")
    def active_rooms(self, obj):
        if not hasattr(obj, "_active_rooms"):
            obj._active_rooms = chat_selectors.active_room_counts().get(obj.pk, 0)
        url = reverse("admin:chat_room_changelist") + "?status__exact=active"
        return format_html('<a href="{}">{}</a>', url, obj._active_rooms)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        changed = set(form.changed_data)
        saved = sorted(changed & _SAVED_FIELDS)
        if saved:
            obj.save(update_fields=saved)
        if changed & _STATUS_FIELDS:
            # Publishes the status change and drains the queue (agent_availability_changed).
            account_services.user_set_status(
                user=obj, status=obj.status, accepting_chats=obj.accepting_chats
            )
        elif changed & {"max_chats", "is_active"}:
            # A proxy's post_save names the proxy class, which the routing receiver
            # (sender=User) does not hear: drain here.
            routing.queue_drain()

    @admin.action(description="Recount the agents' loads from the rooms")
    def recount_loads(self, request, queryset):
        fixes = routing.agents_reconcile()
        for agent, old, new in fixes:
            self.message_user(request, f"{agent.username}: active_chats {old} -> {new}")
        self.message_user(request, f"Agents repaired: {len(fixes)}.", messages.SUCCESS)


@admin.register(RoutingAudit)
class RoutingAuditAdmin(RoomColumn, PageLookupMixin, ReadOnlyAdmin):
    """Every assignment, transfer, requeue, forced assignment and counter repair."""

    page_user_fields = ("actor_id", "from_agent_id", "to_agent_id")

    list_display = (
        "at",
        "action",
        "room_ref",
        "actor_name",
        "from_agent_name",
        "to_agent_name",
        "team_name",
        "reason",
        "note",
    )
    list_filter = ("action",)
    ordering = ("-at",)
    fields = (
        "at",
        "action",
        "room_ref",
        "actor_name",
        "from_agent_name",
        "to_agent_name",
        "team_name",
        "reason",
        "note",
    )
    readonly_fields = fields

    @admin.display(description="team")
    def team_name(self, obj):
        teams = directory()
        names = [(teams.team(t).name if teams.team(t) else "—") for t in (obj.team_id,)]
        if obj.to_team_id is not None:
            to = teams.team(obj.to_team_id)
            names.append(f"→ {to.name if to else obj.to_team_id}")
        return " ".join(names)

    @admin.display(description="room")
    def room_ref(self, obj):
        if obj.room_id is None:
            return "—"
        url = reverse("admin:chat_room_change", args=[str(obj.room_id)])
        return format_html('<a href="{}">{}</a>', url, obj.room_id)

    @admin.display(description="by")
    def actor_name(self, obj):
        return name_of(obj, obj.actor_id) if obj.actor_id else "routing"

    @admin.display(description="from")
    def from_agent_name(self, obj):
        return name_of(obj, obj.from_agent_id)

    @admin.display(description="to")
    def to_agent_name(self, obj):
        return name_of(obj, obj.to_agent_id)


def agent_state(agent: User, online_ids: set[str]) -> tuple[bool, str]:
    """(available now, how the agent is): online or not, their status, the accepting
    switch and their load, as a support manager choosing a target needs to see them."""
    load = f"{agent.active_chats} of {agent.max_chats} chats"
    if str(agent.pk) not in online_ids:
        return False, f"offline · {load}"
    if agent.status != Status.ONLINE:
        return False, f"connected but {agent.status} · {load}"
    if not agent.accepting_chats:
        return False, f"online, not accepting chats · {load}"
    if agent.active_chats >= agent.max_chats:
        return False, f"online, full · {load}"
    return True, f"online, available · {load}"


class _AvailableFirst(forms.models.ModelChoiceIterator):
    def __iter__(self):
        for agent in sorted(self.queryset, key=self.field.rank):
            yield self.choice(agent)


class AgentChoiceField(forms.ModelChoiceField):
    """Agents labelled with their presence and load (issue 31, item 11: bare usernames),
    those available now first; presence is read once per form."""

    iterator = _AvailableFirst
    online_ids: frozenset[str] = frozenset()  # set by the form, per request

    def rank(self, agent: User) -> tuple[bool, str]:
        available, _ = agent_state(agent, self.online_ids)
        return (not available, agent.username)

    def label_from_instance(self, agent: User) -> str:
        _, state = agent_state(agent, self.online_ids)
        name = f"{agent.display_name} ({agent.username})" if agent.display_name else agent.username
        return f"{name} — {state}"


class TransferForm(forms.Form):
    to_agent = AgentChoiceField(
        queryset=User.objects.filter(role=Role.AGENT, is_active=True),
        label="Agent",
        empty_label=None,
        help_text="Available agents first. Without “force”, routing refuses an agent who is "
        "offline, away, not accepting chats or full.",
    )
    force = forms.BooleanField(
        required=False,
        help_text="Past the agent's capacity, status and accepting switch (audited as forced).",
    )

    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_agent"].online_ids = presence.online_user_ids()


class RoutingRoomAdmin(RoomAdmin):
    """The rooms page with routing's actions: route now, transfer or assign to an agent,
    requeue; each calls the same service as the REST API and is audited."""

    actions = (
        *RoomAdmin.actions,
        "route_rooms",
        "transfer_rooms",
        transfer_rooms_to_team,
        set_room_skills,
        "requeue_rooms",
    )
    list_display = (*RoomAdmin.list_display, "team")
    list_filter = (*RoomAdmin.list_filter, TeamListFilter)
    fields = (*RoomAdmin.fields, "team", "required_skills")
    readonly_fields = fields

    @admin.display(description="team")
    def team(self, obj):
        return team_column(obj)

    @admin.action(description="Route now (queued rooms)", permissions=["supervise"])
    def route_rooms(self, request, queryset):
        def act(room):
            payload = routing.room_assign_agent(room_id=room.pk, actor=request.user)
            return f"Routed to {payload['agent']['username']}."

        self._each(request, queryset, "Routed", act)

    @admin.action(description="Put back in the queue (active rooms)", permissions=["supervise"])
    def requeue_rooms(self, request, queryset):
        reason = f"requeued by {request.user.username} in the admin"

        def act(room):
            payload = routing.room_requeue(room_id=room.pk, actor=request.user, reason=reason)
            return None if payload is None else "Put back in the queue."

        self._each(request, queryset, "Requeued", act)

    @admin.action(description="Transfer or assign to an agent…", permissions=["supervise"])
    def transfer_rooms(self, request, queryset):
        """An intermediate page picks the agent; active rooms are transferred, queued
        rooms assigned (both may be forced, as in the API)."""
        form = TransferForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            agent = form.cleaned_data["to_agent"]
            force = form.cleaned_data["force"]
            note = form.cleaned_data["note"]
            label = f"{agent.username}{' (forced)' if force else ''}"

            def act(room):
                if room.status == RoomStatus.ACTIVE:
                    routing.room_transfer(
                        room_id=room.pk,
                        actor=request.user,
                        to_agent_id=agent.pk,
                        note=note,
                        force=force,
                    )
                    return f"Transferred to {label}."
                if room.status == RoomStatus.QUEUED:
                    routing.room_assign_agent(
                        room_id=room.pk, actor=request.user, agent_id=agent.pk, force=force
                    )
                    return f"Assigned to {label}."
                raise Conflict("The room is closed.")

            self._each(request, queryset, "Transferred or assigned", act)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Transfer or assign rooms to an agent",
            "opts": self.model._meta,
            "form": form,
            "rooms": labelled_rooms(queryset),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": "transfer_rooms",
            "submit_label": "Transfer / assign",
            "explanation": (
                "Active rooms are transferred to the agent; queued rooms are assigned to "
                "them. Both go through routing (the same rules and audit as the API)."
            ),
        }
        return TemplateResponse(request, "agents/room_action.html", context)


admin.site.unregister(Room)
admin.site.register(Room, RoutingRoomAdmin)


class CannedForm(forms.ModelForm):
    """A shared response: the service's rules, checked here so that the page shows them."""

    class Meta:
        model = CannedResponse
        fields = ("shortcut", "text")
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"text": "Placeholders: {customer_name}, {agent_name}."}

    def clean_shortcut(self):
        return self._domain("shortcut", canned_services.clean_shortcut)

    def clean_text(self):
        return self._domain("text", canned_services.clean_text)

    def _domain(self, name, clean):
        try:
            value = clean(self.cleaned_data.get(name))
        except DomainError as exc:
            messages_ = exc.details.get("fields", {}).get(name) or exc.message
            raise forms.ValidationError(messages_) from None
        if name == "shortcut":
            taken = CannedResponse.objects.filter(scope=CannedResponse.SHARED, shortcut=value)
            if taken.exclude(pk=self.instance.pk).exists():
                raise forms.ValidationError(f"/{value} exists already.")
        return value


class SharedFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return (("shared", "Shared"), ("personal", "Personal"))

    def queryset(self, request, queryset):
        if self.value() == "shared":
            return queryset.filter(scope=CannedResponse.SHARED)
        if self.value() == "personal":
            return queryset.exclude(scope=CannedResponse.SHARED)
        return queryset


@admin.register(CannedResponse)
class CannedResponseAdmin(PageLookupMixin, admin.ModelAdmin):
    """Shared responses are the managers' to write; personal ones are read here only."""

    form = CannedForm
    page_user_fields = ("owner_id",)
    list_display = ("shortcut_label", "kind", "short_text", "updated_at")
    list_filter = (SharedFilter,)
    search_fields = ("shortcut",)
    ordering = ("shortcut",)
    show_full_result_count = False

    @admin.display(description="shortcut", ordering="shortcut")
    def shortcut_label(self, obj):
        return f"/{obj.shortcut}"

    @admin.display(description="shared or whose")
    def kind(self, obj):
        return "shared" if obj.shared else name_of(obj, obj.owner_id)

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.shared:
            return ("shortcut", "text")
        return ()

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.shared)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.shared)

    def save_model(self, request, obj, form, change):
        data = {"shortcut": form.cleaned_data["shortcut"], "text": form.cleaned_data["text"]}
        if change:
            canned_services.canned_update(canned_id=obj.pk, user=request.user, **data)
        else:
            created = canned_services.canned_create(user=request.user, shared=True, **data)
            obj.pk = ObjectId(created["id"])

    def delete_model(self, request, obj):
        canned_services.canned_delete(canned_id=obj.pk, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if obj.shared:
                canned_services.canned_delete(canned_id=obj.pk, user=request.user)
