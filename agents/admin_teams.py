"""Teams, skills, schedules, topics and the messages customers left while closed, in the
Django admin (issue 15), for support managers; the rooms page gets a team column and
filter and the action "Transfer to a team…".

Teams and skills are plain model forms (``Team.clean`` refuses a fallback loop or an
overflow time without a fallback); every save tells routing to read its directory again
and drains the queues (``agents.receivers``). Room actions go through the same services
as the API and are audited.
"""

from __future__ import annotations

from bson import ObjectId
from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from agents import services as routing
from agents.directory import directory
from agents.models import (
    AgentSkill,
    OfflineMessage,
    Skill,
    Team,
    TeamHoliday,
    TeamHours,
    TeamMember,
    Topic,
)
from chat import selectors as chat_selectors
from chat.admin import room_label, room_link
from chat.models import RoomStatus
from chat_project.admin_pages import PageLookupMixin, ReadOnlyAdmin, name_of, user_names


def labelled_rooms(rooms) -> list:
    """The rooms of an action's intermediate page, each with ``label`` (customer and
    subject: ``chat.admin.room_label``) for the page to show instead of its id."""
    rooms = list(rooms)
    names = user_names(room.customer_id for room in rooms)
    for room in rooms:
        room.label = room_label(room, names)
    return rooms


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 1
    verbose_name = "member"


class TeamHoursInline(admin.TabularInline):
    model = TeamHours
    extra = 1
    verbose_name = "opening hours (none: always open)"
    verbose_name_plural = "opening hours (none: always open)"


class TeamHolidayInline(admin.TabularInline):
    model = TeamHoliday
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "listed", "open_now", "waiting", "time_zone", "overflow", "members")
    list_filter = ("listed",)
    search_fields = ("name",)
    fields = (
        "name",
        "description",
        "listed",
        "time_zone",
        "offline_message",
        "overflow_after_seconds",
        "fallback",
        "ring_no_answer_seconds",
        "first_response_seconds",
        "resolution_seconds",
        "email",
    )
    inlines = (TeamMemberInline, TeamHoursInline, TeamHolidayInline)

    @admin.display(description="open now", boolean=True)
    def open_now(self, obj):
        return directory().is_open(obj.pk, timezone.now())

    @admin.display(description="waiting")
    def waiting(self, obj):
        return len(chat_selectors.team_queue(obj.pk))

    @admin.display(description="overflow")
    def overflow(self, obj):
        if obj.fallback_id is None:
            return "—"
        return f"after {obj.overflow_after_seconds} s to {obj.fallback}"

    @admin.display(description="members")
    def members(self, obj):
        return len(directory().members.get(obj.pk, ()))


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name", "label", "holders")
    search_fields = ("name", "label")

    @admin.display(description="agents holding it")
    def holders(self, obj):
        return sum(1 for held in directory().skills_of.values() if obj.name in held)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("label", "key", "team", "skills", "position")
    list_editable = ("position",)
    fields = ("key", "label", "team", "skills", "position")


class AgentSkillInline(admin.TabularInline):
    """On the agent's page: the skills they hold."""

    model = AgentSkill
    fk_name = "agent"
    extra = 1


class AgentTeamInline(admin.TabularInline):
    """On the agent's page: the teams they serve."""

    model = TeamMember
    fk_name = "agent"
    extra = 1
    verbose_name = "team"


@admin.register(OfflineMessage)
class OfflineMessageAdmin(PageLookupMixin, ReadOnlyAdmin):
    """What customers left while their team was closed (also posted in the room)."""

    page_user_fields = ("customer_id",)
    list_display = (
        "created_at",
        "email",
        "customer_name",
        "team_name",
        "room_ref",
        "message",
        "emailed_at",
    )
    list_filter = ("team",)
    search_fields = ("email", "message")
    ordering = ("-created_at",)
    fields = readonly_fields = list_display

    @admin.display(description="customer")
    def customer_name(self, obj):
        return name_of(obj, obj.customer_id)

    @admin.display(description="team")
    def team_name(self, obj):
        team = directory().team(obj.team_id)
        return team.name if team else "—"

    @admin.display(description="room")
    def room_ref(self, obj):
        return room_link(obj.room_id)


class TeamListFilter(admin.SimpleListFilter):
    """Rooms by team (``team_id``): each team, or the general queue."""

    title = "team"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        teams = sorted(directory().teams.values(), key=lambda t: t.name.lower())
        return [("none", "General (no team)"), *((str(t.id), t.name) for t in teams)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == "none":
            return queryset.filter(team_id=None)
        if not ObjectId.is_valid(value):
            return queryset.none()
        return queryset.filter(team_id=ObjectId(value))


def team_column(obj) -> str:
    team = directory().team(obj.team_id)
    if team is None:
        return "—"
    url = reverse("admin:agents_team_change", args=[str(team.id)])
    return format_html('<a href="{}">{}</a>', url, team.name)


class TeamTransferForm(forms.Form):
    to_team = forms.ModelChoiceField(queryset=Team.objects.all(), label="Team", empty_label=None)
    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


def transfer_rooms_to_team(model_admin, request, queryset):
    """An intermediate page picks the team; active rooms go to its best free member or
    the head of its queue, waiting rooms to the head of its queue."""
    form = TeamTransferForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        team = form.cleaned_data["to_team"]

        def act(room):
            answer = routing.room_transfer_to_team(
                room_id=room.pk,
                actor=request.user,
                to_team_id=team.pk,
                note=form.cleaned_data["note"],
            )
            if answer["queued"]:
                return f"Transferred to {team.name} (head of its queue)."
            return f"Transferred to {team.name} ({answer['to_agent']['username']})."

        model_admin._each(request, queryset, "Transferred", act)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Transfer rooms to a team",
        "opts": model_admin.model._meta,
        "form": form,
        "rooms": labelled_rooms(room for room in queryset if room.status != RoomStatus.CLOSED),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": "transfer_rooms_to_team",
        "submit_label": "Transfer",
        "explanation": (
            "Active rooms go to the team's best free member who has the room's skills, or "
            "to the head of its queue when nobody there is free; waiting rooms go to the "
            "head of its queue. Through routing, with the same rules and audit as the API."
        ),
    }
    return TemplateResponse(request, "agents/room_action.html", context)


transfer_rooms_to_team.short_description = "Transfer to a team…"
transfer_rooms_to_team.allowed_permissions = ("supervise",)


class RoomSkillsForm(forms.Form):
    skills = forms.CharField(
        required=False,
        max_length=200,
        label="Required skills",
        help_text="Comma-separated, each with an optional minimum level: french, billing:2 "
        "(empty: none).",
    )

    def clean_skills(self):
        from agents.skills import parse_requirements

        try:
            return parse_requirements(self.cleaned_data["skills"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


def set_room_skills(model_admin, request, queryset):
    """An intermediate page takes the skills; each open room gets them (a waiting room is
    routed again at once)."""
    form = RoomSkillsForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        needs = form.cleaned_data["skills"]

        def act(room):
            routing.room_skills_set(room_id=room.pk, actor=request.user, required_skills=needs)
            return f"Required skills: {form.data.get('skills') or 'none'}."

        model_admin._each(request, queryset, "Skills set", act)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Set the skills rooms need",
        "opts": model_admin.model._meta,
        "form": form,
        "rooms": labelled_rooms(room for room in queryset if room.status != RoomStatus.CLOSED),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": "set_room_skills",
        "submit_label": "Set skills",
        "explanation": (
            "Routing gives these rooms only to agents holding every skill (at its minimum "
            "level). Audited; a waiting room is routed again at once."
        ),
    }
    return TemplateResponse(request, "agents/room_action.html", context)


set_room_skills.short_description = "Set required skills…"
set_room_skills.allowed_permissions = ("supervise",)
