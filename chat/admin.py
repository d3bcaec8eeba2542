"""Rooms, their timelines and attachments in the Django admin, for support managers.

Nothing here writes a room or an event through a model form: ``last_seq`` and the
watermarks change by single-document operators, and a ``save()`` would write stale
copies back. The pages are read-only; the room action here (close) calls the same
service as the REST API (``chat.services``) and is recorded in the admin's action log
(``LogEntry``, listed under Supervision). Routing adds its own actions to this page
(``agents.admin``: route now, transfer or assign, requeue), so that chat never imports
the app built on it. Rooms show their tags (each a link to the rooms with that tag, the
``?tag=`` filter) and the customer's rating; the timeline page lists private notes with
every other event (kind filter ``Private note``).
"""

from __future__ import annotations

from datetime import UTC

from bson import ObjectId
from django.contrib import admin, messages
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from chat import render, selectors
from chat import services as chat_services
from chat.models import Attachment, Room, RoomEvent, RoomStatus
from chat_project.admin_pages import PageLookupMixin, ReadOnlyAdmin, name_of, user_names
from chat_project.errors import DomainError
from chat_project.timefmt import duration


def room_label(room: Room, names: dict | None = None) -> str:
    """A room as support managers know it: its customer and subject (or the day it was
    opened), never its hex id (issue 31, item 11). ``names``: a page's user lookup."""
    customer = (names or {}).get(room.customer_id) or name_of(room, room.customer_id)
    if room.subject:
        return f"{customer} — “{room.subject}”"
    if room.created_at is None:
        return f"{customer} — chat"
    opened = timezone.localtime(room.created_at)
    return f"{customer} — chat of {opened.day} {opened:%b %H:%M}"


def room_link(room_id: object) -> str:
    if room_id is None:
        return "—"
    url = reverse("admin:chat_room_change", args=[str(room_id)])
    return format_html('<a href="{}">{}</a>', url, room_id)


class RoomColumn:
    """A ``room_ref`` column linking a row to its room's page."""

    @admin.display(description="room")
    def room_ref(self, obj):
        return room_link(obj.room_id)


class TagFilter(admin.SimpleListFilter):
    """``?tag=<tag>``: rooms with that tag (the most used ones offered), found by the
    (tags, agent) index."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [(tag, f"{tag} ({n})") for tag, n in selectors.tags_in_use()]

    def has_output(self) -> bool:
        return True  # also when no tag is in use yet: the filter is reached by links

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        try:
            return queryset.filter(pk__in=selectors.room_ids_with_tag(value))
        except DomainError:
            return queryset.none()


def tag_links(tags) -> str:
    if not tags:
        return "—"
    url = reverse("admin:chat_room_changelist")
    links = [format_html('<a href="{}?tag={}">{}</a>', url, tag, tag) for tag in tags]
    return format_html_join(" ", "{}", ((link,) for link in links))


SLA_ICONS = {"nearing": "admin/img/icon-alert.svg", "breached": "admin/img/icon-no.svg"}
SLA_TARGETS = {"first_response": "first response", "resolution": "resolution"}


def sla_label(obj: Room):
    """Issue 30: the room's SLA flags in the list, an icon (amber: nearing, red: breached)
    and the words, never the colour alone."""
    flags = [(t, s) for t, s in render.sla_flags(obj).items() if s]
    if not flags:
        return ""
    return format_html_join(
        "",
        '<br><small class="sla-flag sla-{}"><img src="{}" alt=""> SLA {}: {}</small>',
        ((state, static(SLA_ICONS[state]), state, SLA_TARGETS[t]) for t, state in flags),
    )


@admin.register(Room)
class RoomAdmin(PageLookupMixin, ReadOnlyAdmin):
    page_user_fields = ("customer_id", "agent_id")
    # Issue 31 item 15: the list led with the hex id and pushed wait, position, tags,
    # rating and team behind a horizontal scroll at 1280 px. Now a room is named by its
    # customer (the link) with its subject and day below, and its state says the rest on
    # two short lines (queued: place and wait; active: agent and wait; closed: agent).
    list_display = ("room_title", "state", "tag_list", "rating_label")
    list_display_links = ("room_title",)
    list_filter = ("status", TagFilter)
    search_fields = ("subject",)
    ordering = ("-id",)
    fields = (
        "id",
        "status",
        "subject",
        "customer_name",
        "agent_name",
        "created_at",
        "queued_at",
        "assigned_at",
        "first_agent_reply_at",
        "closed_at",
        "wait",
        "queue_position",
        "last_seq",
        "tag_list",
        "rating_label",
        "rating_comment",
        "rated_at",
        "timeline",
    )
    readonly_fields = fields
    actions = ("close_rooms",)

    # --- columns ---------------------------------------------------------------------------

    def decorate_page(self, request, rows):
        super().decorate_page(request, rows)
        firsts = selectors.rooms_first_assigned([r.pk for r in rows])
        places = selectors.queue_places() if any(r.status == "queued" for r in rows) else {}
        for row in rows:
            row._first_assigned = firsts.get(row.pk)
            row._queue_position = places.get(row.pk)

    @admin.display(description="room")
    def room_title(self, obj):
        subject = obj.subject or "no subject"
        if len(subject) > 48:
            subject = subject[:47] + "…"
        return format_html(
            '{}<br><small class="quiet">“{}” · {}</small>',
            name_of(obj, obj.customer_id),
            subject,
            self.created(obj),
        )

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        if obj.status == RoomStatus.QUEUED:
            place = self.queue_position(obj)
            detail = f"#{place} · {self.wait(obj)}" if place != "—" else self.wait(obj)
        elif obj.status == RoomStatus.ACTIVE:
            detail = f"{self.agent_name(obj)} · waited {self.wait(obj)}"
        else:
            detail = self.agent_name(obj) if obj.agent_id else "never answered"
        return format_html(
            '{}<br><small class="quiet">{}</small>{}',
            obj.get_status_display(),
            detail,
            sla_label(obj),
        )

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        if obj.created_at is None:
            return "—"
        at = timezone.localtime(obj.created_at)
        return f"{at.day} {at:%b %H:%M}"

    @admin.display(description="customer")
    def customer_name(self, obj):
        return name_of(obj, obj.customer_id)

    @admin.display(description="agent")
    def agent_name(self, obj):
        return name_of(obj, obj.agent_id)

    @admin.display(description="wait")
    def wait(self, obj):
        """Queued: how long it has waited so far (since ``queued_at``); otherwise from
        creation to its first assignment."""
        if obj.status == RoomStatus.QUEUED and obj.queued_at:
            return f"{duration((timezone.now() - obj.queued_at).total_seconds())} (waiting)"
        if not hasattr(obj, "_first_assigned"):
            obj._first_assigned = selectors.rooms_first_assigned([obj.pk]).get(obj.pk)
        first = obj._first_assigned
        if first is None or obj.created_at is None:
            return "—"
        if timezone.is_naive(first):
            first = first.replace(tzinfo=UTC)
        return duration((first - obj.created_at).total_seconds())

    @admin.display(description="queue position")
    def queue_position(self, obj):
        if obj.status != RoomStatus.QUEUED:
            return "—"
        if not hasattr(obj, "_queue_position"):
            obj._queue_position = selectors.queue_places().get(obj.pk)
        return obj._queue_position or "—"

    @admin.display(description="tags")
    def tag_list(self, obj):
        return tag_links(obj.tags)

    @admin.display(description="rating")
    def rating_label(self, obj):
        if obj.rating is None:
            return "—"
        return f"{obj.rating} / 5"

    @admin.display(description="timeline")
    def timeline(self, obj):
        url = reverse("admin:chat_roomevent_changelist") + f"?room={obj.pk}"
        return format_html('<a href="{}">{} events</a>', url, obj.last_seq)

    # --- actions ---------------------------------------------------------------------------

    def has_supervise_permission(self, request) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_admin", False))

    def _each(self, request, queryset, verb: str, act) -> None:
        """Run ``act(room) -> log message`` per room; report and audit each outcome."""
        done = 0
        rooms = list(queryset)
        names = user_names(r.customer_id for r in rooms)
        for room in rooms:
            try:
                message = act(room)
            except DomainError as exc:
                self.message_user(
                    request, f"{room_label(room, names)}: {exc.message}", messages.ERROR
                )
                continue
            if message is None:
                self.message_user(
                    request, f"{room_label(room, names)}: nothing to do.", messages.WARNING
                )
                continue
            self.log_change(request, room, message)
            done += 1
        if done:
            self.message_user(request, f"{verb}: {done} room(s).", messages.SUCCESS)

    @admin.action(description="Close the selected rooms", permissions=["supervise"])
    def close_rooms(self, request, queryset):
        def act(room):
            if room.status == RoomStatus.CLOSED:
                return None
            chat_services.room_close(room_id=str(room.pk), actor=request.user)
            return "Closed the room."

        self._each(request, queryset, "Closed", act)


class RoomFilter(admin.SimpleListFilter):
    """``?room=<id>``: one room's timeline (linked from the room page; no choices)."""

    title = "room"
    parameter_name = "room"

    def lookups(self, request, model_admin):
        return ()

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not ObjectId.is_valid(value):
            return queryset.none()
        return queryset.filter(room_id=ObjectId(value))


@admin.register(RoomEvent)
class RoomEventAdmin(RoomColumn, PageLookupMixin, ReadOnlyAdmin):
    """Messages and the other timeline events. Admins see everything: the current
    text, the original of an edited message, and the text of a deleted one."""

    page_user_fields = ("actor_id",)

    list_display = (
        "id",
        "room_ref",
        "seq",
        "kind",
        "actor_name",
        "short_text",
        "original",
        "deleted",
        "created_at",
    )
    list_filter = ("kind", "deleted", RoomFilter)
    ordering = ("-id",)
    fields = (
        "id",
        "room_ref",
        "seq",
        "kind",
        "actor_name",
        "created_at",
        "text",
        "original_text",
        "edited_at",
        "deleted",
        "deleted_at",
        "attachments",
        "data",
        "client_msg_id",
    )
    readonly_fields = fields

    @admin.display(description="by")
    def actor_name(self, obj):
        return name_of(obj, obj.actor_id)

    @admin.display(description="text")
    def short_text(self, obj):
        text = obj.text or ""
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="original (before edits)")
    def original(self, obj):
        return obj.original_text if obj.original_text is not None else "—"


@admin.register(Attachment)
class AttachmentAdmin(RoomColumn, PageLookupMixin, ReadOnlyAdmin):
    page_user_fields = ("uploader_id",)
    list_display = (
        "id",
        "room_ref",
        "filename",
        "content_type",
        "size",
        "uploader_name",
        "created_at",
    )
    ordering = ("-id",)
    fields = (
        "id",
        "room_ref",
        "filename",
        "content_type",
        "size",
        "uploader_name",
        "storage_name",
        "message_id",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="uploader")
    def uploader_name(self, obj):
        return name_of(obj, obj.uploader_id)
