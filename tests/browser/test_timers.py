"""Ring-no-answer and SLA flags in the agent console (issue 30), in headless Chromium
against a real daphne whose timers are shrunk to seconds: a chat its agent does not
answer moves to the other agent before everyone's eyes, the agent who missed it is told
why, the customer reads that it was passed on, and the SLA flag of the chat turns from
"nearing" (amber) to "breached" (red) live in the list and the pane.

And the customer page's closed state: the transcript by e-mail."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages
from tests.e2e.conftest import FAST

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of

TIMERS = {
    **FAST,
    "ROUTING_TIMERS_TICK_SECONDS": "0.5",
    "RING_NO_ANSWER_SECONDS": "4",
    "SLA_FIRST_RESPONSE_SECONDS": "0",
    "SLA_RESOLUTION_SECONDS": "12",
    "SLA_NEARING_FRACTION": "0.5",
}


@pytest.fixture
def server(_servers):
    """A gateway of its own, with the timers in seconds (the hook's period is read at
    start)."""
    return _servers("timers", **TIMERS)


def room_of(customer_name: str):
    from chat.models import Room

    return Room.objects.filter(customer__username=customer_name).order_by("-id").first()


async def test_console_shows_ring_no_answer_and_sla_flags_live(
    open_page, agents, make_user, expect
):
    ann_user, _ben_user = agents
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    ben = await open_page("/agent/")
    await sign_in(ben, "ben")
    await sync_to_async(make_user)(username="ivy", role="user", display_name="Ivy")
    customer = await open_page("/chat/")
    await sign_in(customer, "ivy")
    await start_chat(customer, "Help", "Is anyone there?")

    room = await sync_to_async(room_of)("ivy")
    first, second = (ann, ben) if room.agent_id == ann_user.pk else (ben, ann)
    await expect(first.locator("[data-room-list] .room-item")).to_have_count(1)

    # Nobody answers for 4 s: the chat goes to the other agent, live on every screen.
    await expect(second.locator("[data-room-list] .room-item")).to_have_count(1, timeout=15_000)
    await expect(first.locator("[data-room-list] .room-item")).to_have_count(0)
    await expect(first.locator("[data-banner]")).to_contain_text(
        "A chat you did not answer in time was passed on."
    )
    await expect(customer.locator("[data-message-list]")).to_contain_text(
        "Your chat was passed to another agent."
    )
    # The new agent answers (no second re-route) and opens the chat.
    item = second.locator("[data-room-list] .room-item")
    await item.locator("button").click()
    await send(second, "Here now, sorry!")
    await expect(customer.locator("[data-message-list]")).to_contain_text("Here now, sorry!")

    # Resolution target 12 s, nearing at half of it: amber first, then red, with words.
    flag = item.locator(".sla-flag")
    await expect(flag).to_have_text("SLA nearing: resolution", timeout=15_000)
    await expect(flag).to_have_class("sla-flag sla-nearing")
    await expect(flag).to_have_text("SLA breached: resolution", timeout=15_000)
    await expect(flag).to_have_class("sla-flag sla-breached")
    await expect(second.locator("[data-sla-head] .sla-flag")).to_have_text(
        "SLA breached: resolution"
    )
    colour = await flag.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(253, 226, 225)"
    # A console loaded later shows the flag too (the room list carries it).
    await second.reload()
    await expect(second.locator("[data-room-list] .room-item .sla-flag")).to_have_text(
        "SLA breached: resolution"
    )
    # The customer never sees a flag.
    assert await customer.locator(".sla-flag").count() == 0
    assert errors_of(ann, ben, customer) == []


async def test_customer_gets_the_transcript_when_the_chat_closes(
    open_page, agents, make_user, expect
):
    await sync_to_async(make_user)(username="zoe", role="user", display_name="Zoe")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    customer = await open_page("/chat/")
    await sign_in(customer, "zoe")
    await start_chat(customer, "Help", "Please close this")
    button = customer.locator("[data-transcript]")
    await expect(button).to_be_hidden()

    await customer.locator("[data-end-chat]").click()
    await customer.locator("[data-end-chat]").click()  # the confirmation
    await expect(button).to_be_visible()
    await button.click()

    await expect(customer.locator("[data-transcript-result]")).to_have_text(
        "The transcript is on its way to zoe@example.com."
    )
    await expect(button).to_be_disabled()
    assert errors_of(ann, customer) == []
