"""Helpers for the admin's list pages on this backend, shared by every app's admin.

No ``select_related`` in changelists: on django-mongodb-backend it becomes a
``$lookup`` over the whole collection before the page is cut. Instead a list page
reads its rows, then looks up what they refer to in one query per kind (user names,
first assignments, queue places) and hangs the answers on the rows
(``PageLookupMixin.decorate_page``). A change page, which shows one row, asks directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from accounts import presence
from accounts.models import User
from adminstats import queries
from chat import selectors as chat_selectors
from chat.models import EventKind


class PageChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # Evaluating the page here fills the queryset's cache: the template iterates
        # the same decorated objects.
        self.model_admin.decorate_page(request, list(self.result_list))


class PageLookupMixin:
    """A ModelAdmin whose list page decorates its rows once per page: the names of the
    users in ``page_user_fields`` (for ``name_of``) in one query, plus whatever an
    override of ``decorate_page`` adds after calling this one."""

    page_user_fields: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return PageChangeList

    def decorate_page(self, request, rows: list[Any]) -> None:
        if not self.page_user_fields:
            return
        names = user_names(getattr(r, f) for r in rows for f in self.page_user_fields)
        for row in rows:
            row._user_names = names


def user_names(ids: Iterable[object]) -> dict[ObjectId, str]:
    """``{id: "display name (username)"}`` in one flat ``_id $in`` query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    users = User.objects.filter(pk__in=list(wanted)).only("username", "display_name")
    return {u.pk: f"{u.name} ({u.username})" if u.display_name else u.username for u in users}


def name_of(row: Any, user_id: object) -> str:
    """A user's name from the page lookup, or (change page) from one query."""
    if user_id is None:
        return "—"
    names = getattr(row, "_user_names", None)
    if names is None:
        names = user_names([user_id])
    return names.get(user_id, str(user_id))


def online_ids() -> set[str]:
    """Who is connected (presence leases in Redis): one read per page."""
    return presence.online_user_ids()


def is_online(user: Any) -> bool:
    """From the page's presence read, or (change page) one read of its own."""
    if not hasattr(user, "_online"):
        user._online = str(user.pk) in online_ids()
    return user._online


def first_assignments(room_ids: list[ObjectId]) -> dict[ObjectId, datetime]:
    """Each room's first ``assigned`` event time, by the (room_id, seq) index."""
    if not room_ids:
        return {}
    rows = queries.events_collection().aggregate(
        [
            {"$match": {"room_id": {"$in": room_ids}}},
            {"$match": {"kind": EventKind.ASSIGNED.value}},
            {"$group": {"_id": "$room_id", "at": {"$min": "$created_at"}}},
        ]
    )
    return {row["_id"]: row["at"] for row in rows}


def queue_positions() -> dict[ObjectId, int]:
    """The whole queue's places (ids only): routing's order (``chat.selectors``)."""
    return chat_selectors.queue_places()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff, never written through the admin's forms."""

    show_full_result_count = False  # one count query fewer per page

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
