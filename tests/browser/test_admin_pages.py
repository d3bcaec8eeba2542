"""The support manager's pages in headless Chromium (issue 31): the rooms action that
transfers or assigns to an agent shows who is online and how loaded, and names rooms
as people know them; the dashboard says each agent's presence once."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, start_chat, errors_of = pages.sign_in, pages.start_chat, pages.errors_of


async def admin_sign_in(page) -> None:
    await page.goto("/admin/login/?next=/admin/")
    await page.fill("#id_username", "admin")
    await page.fill("#id_password", pages.PASSWORD)
    await page.click("input[type=submit]")
    await page.wait_for_url("**/admin/")


async def test_transfer_form_shows_presence_and_load_and_names_the_room(
    open_page, agents, make_user, support_admin, expect, server
):
    """Issue 31 item 11: the admin's transfer/assign form listed bare usernames with no
    online state or load, its error named the room by its hex id, and the dashboard's
    agents table showed "online" and "offline" side by side for one agent."""
    await sync_to_async(make_user)(username="pat", role="user", display_name="Pat")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")  # Ben never signs in: offline
    pat = await open_page("/chat/")
    await sign_in(pat, "pat")
    await start_chat(pat, "Billing", "Double charge")
    await expect(pat.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    room_id = await pat.evaluate("() => [...window.supportChat.rooms.keys()][0]")

    admin = await open_page("/admin/")
    await admin_sign_in(admin)
    await admin.goto("/admin/chat/room/")
    await admin.locator(f"input[name=_selected_action][value='{room_id}']").check()
    await admin.select_option("select[name=action]", value="transfer_rooms")
    await admin.click("button[name=index]")
    options = admin.locator("#id_to_agent option")
    await expect(options).to_have_text(
        [
            "Ann Agent (ann) — online, available · 1 of 3 chats",
            "Ben Agent (ben) — offline · 0 of 3 chats",
        ]
    )
    await expect(admin.locator("#content-main li")).to_have_text(["Pat (pat) — “Billing” (active)"])

    # Ben, not forced: refused, and the message names the room as people know it.
    await admin.select_option("#id_to_agent", label="Ben Agent (ben) — offline · 0 of 3 chats")
    await admin.click("input[name=apply]")
    error = admin.locator(".messagelist .error")
    await expect(error).to_have_text(
        "Pat (pat) — “Billing”: That agent is not available (offline, away or not accepting chats)."
    )
    assert room_id not in await admin.locator(".messagelist").inner_text()

    # The dashboard: one presence per agent.
    await admin.goto("/admin/dashboard/")
    await expect(admin.locator("#agents tr[data-agent=ann] .presence")).to_have_text("Online")
    await expect(admin.locator("#agents tr[data-agent=ben] .presence")).to_have_text("Offline")
    for row in await admin.locator("#agents tbody tr").all():
        cells = [c.strip().lower() for c in await row.locator("td").all_inner_texts()]
        assert not ({"online", "offline"} <= set(cells)), cells
    assert errors_of(ann, pat) == []
    # The Django admin has no favicon: Chromium's own request for /favicon.ico is a 404.
    assert [e for e in admin.errors if "status of 404" not in e] == []
    assert server.tracebacks() == []


def _rooms_for_the_list(admin) -> None:
    """Rooms that fill every column: waiting ones (wait, place), tagged, rated, with a
    team and long subjects."""
    from accounts.tests.factories import UserFactory
    from agents import services as routing
    from chat import services

    billing, _ = routing.team_create(name="Billing")
    for n in range(3):
        customer = UserFactory(username=f"cust{n}", display_name=f"Customer Number {n}")
        room, _ = services.room_create(
            customer=customer,
            subject=f"A rather long subject about invoice {n} and its refund",
            team_id=str(billing.pk),
        )
        services.room_tag(room_id=room["id"], actor=admin, tag="billing-dispute")
        services.room_tag(room_id=room["id"], actor=admin, tag="priority-customer")
    rated = UserFactory(username="rated", display_name="Rated Customer")
    room, _ = services.room_create(customer=rated, subject="Closed and rated")
    services.room_close(room_id=room["id"], actor=admin)
    services.room_rate(room_id=room["id"], customer=rated, score=5, comment="Great")


async def test_the_rooms_list_fits_1280_px_and_the_dashboard_reads_like_text(
    open_page, support_admin, expect, server
):
    """Issue 31 item 15: the rooms list hid wait, position, tags, rating and team behind a
    horizontal scroll at 1280 px and led with a hex id; the dashboard showed a raw ISO
    time and a bare file name."""
    await sync_to_async(_rooms_for_the_list)(support_admin)
    admin = await open_page("/admin/")
    await admin_sign_in(admin)
    await admin.goto("/admin/chat/room/")
    headers = await admin.locator("#result_list thead th").all_inner_texts()
    names = [h.strip().lower() for h in headers if h.strip()]
    assert names == ["room", "status", "tags", "rating", "team"], names
    rows = admin.locator("#result_list tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.first.locator("th").first).to_contain_text("Rated Customer (rated)")
    await expect(rows.first.locator("th").first).to_contain_text("“Closed and rated”")
    queued = rows.filter(has_text="Customer Number 0")
    waiting = re.compile(r"Queued\s*#1 · \d+ s \(waiting\)")
    await expect(queued.locator(".field-state")).to_have_text(waiting)
    await expect(queued.locator(".field-tag_list")).to_contain_text("priority-customer")
    await expect(queued.locator(".field-team")).to_have_text("Billing")
    await expect(rows.first.locator(".field-rating_label")).to_have_text("5 / 5")
    # Nothing behind a horizontal scroll at 1280 px.
    scroll = await admin.evaluate(
        """() => { const box = document.querySelector('#result_list').parentElement;
                   return [box.scrollWidth, box.clientWidth]; }"""
    )
    assert scroll[0] <= scroll[1], scroll
    text = await admin.locator("#result_list").inner_text()
    assert not re.search(r"\b[0-9a-f]{24}\b", text), text

    await admin.goto("/admin/dashboard/")
    updated = await admin.locator("#generated").inner_text()
    assert re.match(r"Updated \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC", updated), updated
    assert "T" not in updated.split("UTC")[0].split(",")[1], updated  # no ISO "…T04:17:58"
    await admin.locator("#definitions summary").click()
    await expect(admin.locator("#definitions")).to_contain_text("First response")
    assert [e for e in admin.errors if "status of 404" not in e] == []
    assert server.tracebacks() == []
