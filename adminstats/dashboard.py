"""The support dashboard inside the Django admin: ``/admin/dashboard/``.

Registered on the admin site (``install``, called from the app's ``ready``) so it has
the admin's login, permissions and look; the admin index links to it. It shows the
figures of ``GET /api/admin/chat-stats`` for the last 24 hours and two charts drawn
here as inline SVG. The page reloads itself every ``REFRESH_SECONDS``.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from adminstats import charts, selectors

REFRESH_SECONDS = 30


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def presence_label(agent: dict) -> str:
    """One word or two for an agent's presence (issue 31, item 11: the table showed the
    chosen status and the connection side by side, "online" and "offline" for one
    agent): whether they are connected, and if so what they chose."""
    if not agent.get("online"):
        return "Offline"
    status = agent.get("status") or "online"
    if status == "online":
        return "Online"
    if status == "offline":
        return "Connected, shown as offline"
    return f"Online, {status}"


def dashboard_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    stats = selectors.chat_stats()
    series = selectors.chat_series()
    hours = [_parse(h).strftime("%H:00") for h in series["hours"]]
    rooms_chart = charts.bar_chart(
        hours,
        [("created", series["created_per_hour"]), ("closed", series["closed_per_hour"])],
        title="Rooms created and closed per hour, last 24 hours (UTC)",
    )
    queue_chart = charts.line_chart(
        [(_parse(p["at"]), p["length"]) for p in series["queue_length"]],
        title="Queue length, last 24 hours (UTC)",
        name="rooms waiting",
    )
    context = {
        **site.each_context(request),
        "title": "Support dashboard",
        "stats": stats,
        "generated_at": _parse(stats["generated_at"]),
        # A copy per row: the statistics document is shared through the cache.
        "agents": [{**agent, "presence": presence_label(agent)} for agent in stats["agents"]],
        "rooms_chart": rooms_chart,
        "queue_chart": queue_chart,
        "refresh_seconds": REFRESH_SECONDS,
    }
    return TemplateResponse(request, "adminstats/dashboard.html", context)


def install(site: AdminSite) -> None:
    """Add ``dashboard/`` to the site's URLs (behind ``admin_view``: staff only) and
    link it from the index."""
    original_get_urls = site.get_urls

    def get_urls():
        view = site.admin_view(lambda request: dashboard_view(request, site=site))
        return [path("dashboard/", view, name="chat-dashboard"), *original_get_urls()]

    site.get_urls = get_urls
    site.index_template = "adminstats/admin_index.html"
