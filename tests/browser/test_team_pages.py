"""Teams on the two pages (issue 15), in headless Chromium against a real daphne: the
customer's topic picker, a closed team's offline state and the message left for it;
the console's team queues and a transfer to a team."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.contrib.staticfiles import finders
from django.utils import timezone

from tests.browser.test_pages import errors_of, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_team_files_are_found_and_never_insert_html():
    for name in ("teams.js", "teams.css"):
        assert finders.find(f"chat/{name}"), name
    source = Path(finders.find("chat/teams.js")).read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)


@pytest.fixture
def expect():
    from playwright.async_api import expect

    expect.set_options(timeout=10_000)
    return expect


def _teams(make_user):
    """Billing (always open, Ann in it) and Night (closed today and tomorrow), a topic
    for each; Erin and Fred are customers."""
    from agents import services as routing
    from agents.hours import parse_week
    from agents.models import Topic

    make_user(username="ann", role="agent", display_name="Ann Agent", max_chats=3)
    make_user(username="erin", role="user", display_name="Erin")
    make_user(username="fred", role="user", display_name="Fred")
    billing, _ = routing.team_create(name="Billing", members=["ann"])
    today = timezone.now().date()
    night, _ = routing.team_create(
        name="Night",
        time_zone="UTC",
        hours=parse_week("mon-sun 00:00-24:00"),
        holidays=[today, today + timedelta(days=1)],
        offline_message="The night desk answers from the day after tomorrow.",
    )
    Topic.objects.create(key="billing", label="Billing", team=billing, position=1)
    Topic.objects.create(key="night", label="Night desk", team=night, position=2)
    return str(night.pk)


async def test_topic_offline_state_team_queues_and_transfer_to_a_team(
    open_page, make_user, expect, server
):
    from agents.models import OfflineMessage
    from chat.models import Room

    night_id = await sync_to_async(_teams)(make_user)
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")

    # The customer picks the closed night desk: the room is created, the page says the
    # team is closed, when it opens, its message, and takes an address and a message.
    erin = await open_page("/chat/")
    await sign_in(erin, "erin")
    picker = erin.locator("[data-topic-select]")
    await expect(picker.locator("option")).to_have_text(
        ["Anything else", "Billing", "Night desk (closed now)"]
    )
    await picker.select_option(label="Night desk (closed now)")
    await erin.fill("[data-start-form] [name=message]", "My order never came")
    await erin.click("[data-start-form] button[type=submit]")
    card = erin.locator("[data-offline]")
    await expect(card).to_be_visible()
    await expect(card.locator("[data-offline-title]")).to_have_text("Night is closed right now")
    await expect(card).to_contain_text("answers from the day after tomorrow. We open")
    await card.locator("[name=email]").fill("erin@example.com")
    await card.locator("[name=message]").fill("Please e-mail me the tracking number")
    await card.locator("button[type=submit]").click()
    await expect(card.locator("[data-offline-left]")).to_contain_text("Thank you")
    await expect(erin.locator(".msg.mine .text")).to_have_text(
        ["My order never came", "Please e-mail me the tracking number"]
    )
    left = await sync_to_async(lambda: list(OfflineMessage.objects.values_list("email", "team")))()
    assert [(email, str(team)) for email, team in left] == [("erin@example.com", night_id)]

    # The console shows the room in the night team's queue; the filter picks queues.
    queued = ann.locator("[data-queue-list] .room-item")
    await expect(queued).to_have_count(1)
    await expect(queued.locator(".team-tag")).to_have_text("Night")
    await ann.locator("[data-queue-team]").select_option(label="Billing")
    await expect(queued).to_have_count(0)
    await ann.locator("[data-queue-team]").select_option(label="Night (closed)")
    await expect(queued).to_have_count(1)

    # A billing customer reaches Ann, who transfers the chat to the night team: nobody
    # there is free (it is closed), so it waits at the head of the night queue.
    fred = await open_page("/chat/")
    await sign_in(fred, "fred")
    await fred.locator("[data-topic-select]").select_option(label="Billing")
    await fred.fill("[data-start-form] [name=message]", "Wrong invoice")
    await fred.click("[data-start-form] button[type=submit]")
    await expect(fred.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    await ann.locator("[data-room-list] .room-item button").click()
    await ann.click("[data-transfer-open]")
    await ann.locator("[data-transfer-agents]").select_option(label="Night (closed)")
    await ann.fill("[data-transfer-form] [name=note]", "needs the night desk")
    await ann.click("[data-transfer-form] button[type=submit]")
    await expect(ann.locator("[data-banner]")).to_have_text("Chat transferred.")
    await expect(ann.locator("[data-room-list] .room-item")).to_have_count(0)
    await expect(queued).to_have_count(2)
    await expect(queued.first).to_contain_text("Fred")
    await expect(fred.locator("[data-room-title]")).to_have_text("Waiting for an agent")
    await expect(fred.locator("[data-offline]")).to_be_visible()
    fred_room = await sync_to_async(lambda: Room.objects.get(customer__username="fred"))()
    assert (str(fred_room.team_id), fred_room.status) == (night_id, "queued")
    assert errors_of(ann, erin, fred) == []
    assert server.tracebacks() == []
