"""A waiting chat's SLA flag in the console's queue (issue 30), in headless Chromium
against a real daphne whose timers are in seconds: nobody is online to take the chat,
its first-response target passes, and the queue shows the red flag with words; the
customer sees none."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages
from tests.browser.test_timers import TIMERS

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect = pages.expect
sign_in, start_chat, errors_of = pages.sign_in, pages.start_chat, pages.errors_of


@pytest.fixture
def server(_servers):
    """A first-response target of 4 s (nearing at 2 s), no resolution target."""
    return _servers(
        "queue-sla", **{**TIMERS, "SLA_FIRST_RESPONSE_SECONDS": "4", "SLA_RESOLUTION_SECONDS": "0"}
    )


async def test_a_waiting_chats_sla_flag_shows_in_the_consoles_queue(open_page, make_user, expect):
    await sync_to_async(make_user)(username="ada", role="admin", display_name="Ada Admin")
    await sync_to_async(make_user)(username="kim", role="user", display_name="Kim")
    console = await open_page("/agent/")
    await sign_in(console, "ada")
    customer = await open_page("/chat/")
    await sign_in(customer, "kim")
    await start_chat(customer, "Nobody online", "Hello?")  # no agent: it waits
    item = console.locator("[data-queue-list] .room-item")
    await expect(item).to_have_count(1, timeout=10_000)
    flag = item.locator(".sla-flag")
    await expect(flag).to_have_text("SLA breached: first response", timeout=15_000)
    await expect(flag).to_have_class("sla-flag sla-breached")
    assert await customer.locator(".sla-flag").count() == 0
    assert errors_of(console, customer) == []
