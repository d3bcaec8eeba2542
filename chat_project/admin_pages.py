"""Helpers for the admin's list pages, shared by every app's admin (generic: users are
reached through ``get_user_model()``, as Django's own contrib apps do).

No ``select_related`` in changelists: on django-mongodb-backend it becomes a
``$lookup`` over the whole collection before the page is cut. Instead a list page
reads its rows, then looks up what they refer to in one query per kind (user names,
first assignments, queue places) and hangs the answers on the rows
(``PageLookupMixin.decorate_page``). A change page, which shows one row, asks directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model


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
    users = get_user_model().objects.filter(pk__in=list(wanted)).only("username", "display_name")
    return {u.pk: f"{u.name} ({u.username})" if u.display_name else u.username for u in users}


def name_of(row: Any, user_id: object) -> str:
    """A user's name from the page lookup, or (change page) from one query."""
    if user_id is None:
        return "—"
    names = getattr(row, "_user_names", None)
    if names is None:
        names = user_names([user_id])
    return names.get(user_id, str(user_id))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff, never written through the admin's forms."""

    show_full_result_count = False  # one count query fewer per page

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
