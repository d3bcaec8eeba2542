"""The agent console as agents use it (issue 31): a transfer form that offers only what
can be done and says why when nothing can; the console on a phone; "Take" only where
it can work, and an error that does not outstay the action."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of
set_accepting = pages.set_accepting
PHONE = {"width": 390, "height": 844}


async def customer_with_ann(open_page, make_user, expect, username: str, display_name: str):
    """A customer's page in a chat that Ann has open in her console."""
    await sync_to_async(make_user)(username=username, role="user", display_name=display_name)
    customer = await open_page("/chat/")
    await sign_in(customer, username)
    await start_chat(customer, "Help", "Hello there")
    await expect(customer.locator("[data-room-title]")).to_contain_text("Chatting with Ann")
    return customer


async def test_transfer_offers_only_what_can_be_done_and_says_why(
    open_page, agents, make_user, expect, server
):
    """Issue 31 item 3: alone online, the form pre-selected "No other agent is online"
    and its Transfer button did nothing, without a word."""
    _ann_user, ben_user = agents
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    await customer_with_ann(open_page, make_user, expect, "ivy", "Ivy")
    await ann.locator("[data-room-list] .room-item button").click()
    form = ann.locator("[data-transfer-form]")
    submit = form.locator("button[type=submit]")

    # Nobody else online, no team: nothing to choose, and the form says so.
    await ann.click("[data-transfer-open]")
    await expect(form.locator("[data-transfer-none]")).to_have_text(
        "Nobody can take this chat now: no other agent is online."
    )
    await expect(submit).to_be_disabled()

    # Ben comes online but does not accept chats: listed, greyed out, with the reason.
    ben = await open_page("/agent/")
    await sign_in(ben, "ben")
    await set_accepting(ben, "ben", False)
    await ann.click("[data-transfer-cancel]")
    await ann.click("[data-transfer-open]")
    option = form.locator(f"option[value='{ben_user.pk}']")
    await expect(option).to_have_text("Ben Agent · not accepting chats")
    await expect(option).to_be_disabled()
    await expect(form.locator("[data-transfer-none]")).to_contain_text("Nobody can take this chat")
    await expect(submit).to_be_disabled()

    # Ben accepts: he is the choice. He stops accepting before Ann submits: the form
    # says why the server refused.
    await set_accepting(ben, "ben", True)
    await ann.click("[data-transfer-cancel]")
    await ann.click("[data-transfer-open]")
    await expect(form.locator("[data-transfer-agents]")).to_have_value(str(ben_user.pk))
    await expect(form.locator("[data-transfer-none]")).to_be_hidden()
    await set_accepting(ben, "ben", False)
    await submit.click()
    await expect(form.locator("[data-error]")).to_have_text(
        "Not transferred: That agent is not available (offline, away or not accepting chats)."
    )
    # Nothing chosen: said too.
    await form.locator("[data-transfer-agents]").select_option(value="")
    await submit.click()
    await expect(form.locator("[data-error]")).to_have_text(
        "Choose an agent or a team to transfer the chat to."
    )
    await set_accepting(ben, "ben", True)
    await ann.click("[data-transfer-cancel]")
    await ann.click("[data-transfer-open]")
    await submit.click()
    await expect(ann.locator("[data-banner]")).to_have_text("Chat transferred.")
    await expect(ben.locator("[data-room-list] .room-item")).to_have_count(1)
    # The one refusal (409) the test provoked is the only console error.
    assert [e for e in errors_of(ann, ben) if "status of 409" not in e] == []
    assert server.tracebacks() == []


async def test_the_console_on_a_phone_keeps_the_name_and_a_one_line_top_bar(
    open_page, agents, make_user, expect, server
):
    """Issue 31 item 4: on a 390 px phone the chat's head squeezed the customer's name to
    one letter, and the top bar wrapped."""
    await sync_to_async(_long_names)()
    ann = await open_page("/agent/", viewport=PHONE)
    await sign_in(ann, "ann")
    await customer_with_ann(open_page, make_user, expect, "kim", "Kimberly Featherstonehaugh")
    await ann.locator("[data-room-list] .room-item button").click()
    title = ann.locator("[data-room-title]")
    await expect(title).to_have_text("Kimberly Featherstonehaugh")
    box = await title.bounding_box()
    assert box["width"] >= 220, box  # was 9 px: one letter
    assert await title.evaluate("e => e.scrollWidth <= e.clientWidth")  # not cut
    for name in ("Note", "Transfer", "Close"):
        button = ann.locator(".room-actions button", has_text=name)
        await expect(button).to_be_visible()
        assert await button.evaluate("e => e.getBoundingClientRect().right <= innerWidth")

    # The top bar holds one line, also with the connection pill showing.
    await ann.context.set_offline(True)
    await expect(ann.locator("[data-conn]")).to_be_visible()
    assert await top_bar_lines(ann) == 1
    await ann.context.set_offline(False)
    await pages.connected(ann)
    assert await top_bar_lines(ann) == 1
    assert await ann.evaluate("() => document.documentElement.scrollWidth <= innerWidth")


def _long_names() -> None:
    from accounts.models import User

    User.objects.filter(username="ann").update(display_name="Annabelle Montgomery-Agent")


async def top_bar_lines(page) -> int:
    """How many lines the top bar's visible items take (1: none wrapped or pushed down)."""
    return await page.evaluate(
        """() => {
            const items = [...document.querySelectorAll('.topbar > *')]
                .filter(e => e.offsetParent !== null && e.getClientRects().length);
            const lines = new Set();
            for (const e of items) {
                const rects = e.getClientRects();
                if (rects.length > 1) return rects.length;  // its text wrapped
                const r = rects[0];
                if (r.height > 34) return 2;
                lines.add(Math.round(r.top + r.height / 2) >> 3);
            }
            const bar = document.querySelector('.topbar').getBoundingClientRect();
            return bar.height > 60 ? 2 : lines.size;
        }"""
    )


def _two_closed_teams(make_user) -> None:
    """Night (Ann and Ben) and Sales (Ben), both closed today and tomorrow, a topic for
    each; Ann signs in not accepting chats; Erin, Fred and Gail are customers."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from agents import services as routing
    from agents.hours import parse_week
    from agents.models import Topic

    for name in ("erin", "fred", "gail"):
        make_user(username=name, role="user", display_name=name.title())
    User.objects.filter(username="ann").update(accepting_chats=False)
    today = timezone.now().date()
    closed = {
        "time_zone": "UTC",
        "hours": parse_week("mon-sun 00:00-24:00"),
        "holidays": [today, today + timedelta(days=1)],
    }
    night, _ = routing.team_create(name="Night", members=["ann", "ben"], **closed)
    sales, _ = routing.team_create(name="Sales", members=["ben"], **closed)
    Topic.objects.create(key="night", label="Night desk", team=night, position=1)
    Topic.objects.create(key="sales", label="Sales", team=sales, position=2)


async def start_on_topic(page, topic: str, message: str) -> None:
    await page.locator("[data-topic-select]").select_option(label=topic)
    await page.fill("[data-start-form] [name=message]", message)
    await page.click("[data-start-form] button[type=submit]")
    await page.wait_for_selector("[data-room-pane] .msg")


async def test_take_only_where_it_can_work_and_its_error_does_not_stay(
    open_page, agents, make_user, expect, server
):
    """Issue 31 item 6: "Take" was offered while the agent did not accept chats and on
    another team's chats, and its error banner stayed through later actions."""
    await sync_to_async(_two_closed_teams)(make_user)
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    erin = await open_page("/chat/")
    await sign_in(erin, "erin")
    await start_on_topic(erin, "Night desk (closed now)", "Night question")
    fred = await open_page("/chat/")
    await sign_in(fred, "fred")
    await start_on_topic(fred, "Sales (closed now)", "Sales question")
    gail = await open_page("/chat/")
    await sign_in(gail, "gail")
    await start_on_topic(gail, "Anything else", "General question")

    # Not accepting: no Take works, and the queue says why; Sales is not Ann's team.
    queue = ann.locator("[data-queue-list] .room-item")
    await expect(queue).to_have_count(3)
    erin_row, fred_row = queue.filter(has_text="Erin"), queue.filter(has_text="Fred")
    await expect(erin_row.locator("button", has_text="Take")).to_be_disabled()
    await expect(ann.locator("[data-queue-hint]")).to_have_text(
        "Turn on “Accepting chats” to take chats from the queue."
    )
    await expect(fred_row.locator("button", has_text="Take")).to_have_count(0)
    await expect(fred_row.locator(".not-mine")).to_have_text("Sales team")

    # Accepting: Gail's general chat comes to Ann by itself; the Night chat (closed
    # team, so not routed) can be taken by hand.
    await pages.set_accepting(ann, "ann", True)
    await expect(ann.locator("[data-room-list] .room-item")).to_have_count(1)
    await expect(ann.locator("[data-queue-hint]")).to_be_hidden()
    await expect(erin_row.locator("button", has_text="Take")).to_be_enabled()

    # Ben is faster: Ann's Take is refused, and the banner says so ...
    ben = await open_page("/agent/")
    async with ann.expect_response("**/api/chat/queue"):
        pass  # Ann's list was just read: it stays as it is for the next seconds
    await sign_in(ben, "ben")
    await ben.locator("[data-queue-list] .room-item", has_text="Erin").locator("button").click()
    await expect(ben.locator("[data-room-list] .room-item")).to_have_count(1)
    await erin_row.locator("button", has_text="Take").click()
    banner = ann.locator("[data-banner]")
    await expect(banner).to_have_text(
        "Could not take the chat: it is no longer waiting"
        " (another agent took it, or it was closed)."
    )
    await expect(queue.filter(has_text="Erin")).to_have_count(0)
    # ... until Ann moves on to her chat.
    await ann.locator("[data-room-list] .room-item button").click()
    await expect(banner).to_be_hidden()
    refused = ("status of 404", "status of 409")  # the refusal the test provoked
    noise = [e for e in errors_of(ann, ben, erin, fred, gail) if not any(r in e for r in refused)]
    assert noise == []
    assert server.tracebacks() == []


async def test_canned_responses_empty_state_and_managed_from_the_console(
    open_page, agents, make_user, expect, server
):
    """Issue 31 item 8: with no canned response "/" did nothing, and there was no way to
    create or edit one from the console (only the admin or REST)."""
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    await customer_with_ann(open_page, make_user, expect, "lou", "Lou")
    await ann.locator("[data-room-list] .room-item button").click()

    # "/" with none: the menu says so, and Enter opens the manager on that shortcut.
    await ann.locator("[data-text]").press_sequentially("/hel", delay=20)
    menu = ann.locator("[data-canned-menu]")
    await expect(menu).to_contain_text("No canned responses yet.")
    await expect(menu.locator("[data-canned-create]")).to_have_text("Create /hel…")
    await ann.press("[data-text]", "Enter")
    dialog = ann.locator("[data-canned-manager]")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("[data-canned-empty]")).to_be_visible()
    form = dialog.locator("[data-canned-form]")
    await expect(form.locator("[name=shortcut]")).to_have_value("hel")

    # Plain field messages for bad input; then a good one is added.
    await form.locator("[name=shortcut]").fill("hel lo!")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=text]")).to_have_text(
        "Write the text it puts in the message."
    )
    await form.locator("[name=text]").fill("Hello {customer_name}, {agent_name} here.")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=shortcut]")).to_contain_text(
        "letters, digits, _ or -"
    )
    await form.locator("[name=shortcut]").fill("hello")
    await form.locator("button[type=submit]").click()
    row = dialog.locator("[data-canned-list] li[data-shortcut=hello]")
    await expect(row).to_contain_text("Hello {customer_name}, {agent_name} here.")
    await expect(row.locator(".kind")).to_have_text("mine")

    # Edited in place; the "/" menu has it at once, placeholders filled.
    await row.locator("[data-action=edit-canned]").click()
    await form.locator("[name=text]").fill("Hi {customer_name}! {agent_name} here, how can I help?")
    await form.locator("button[type=submit]").click()
    await expect(row.locator(".canned-text")).to_have_text(
        "Hi {customer_name}! {agent_name} here, how can I help?"
    )
    await dialog.locator("[data-canned-close]").click()
    await expect(dialog).to_be_hidden()
    await ann.fill("[data-text]", "")
    await ann.locator("[data-text]").press_sequentially("/he", delay=20)
    await expect(menu.locator("li[data-shortcut=hello] .preview")).to_have_text(
        "Hi Lou! Ann Agent here, how can I help?"
    )
    await ann.press("[data-text]", "Escape")

    # A shortcut that matches nothing says so; deleting from the manager.
    await ann.fill("[data-text]", "")
    await ann.locator("[data-text]").press_sequentially("/zz", delay=20)
    await expect(menu).to_contain_text("No response starts with /zz.")
    await ann.press("[data-text]", "Escape")
    async with ann.expect_response("**/api/chat/canned-responses"):
        await ann.click("[data-canned-open]")
    delete = row.locator("[data-action=delete-canned]")
    await delete.click()
    await delete.click()  # the second click confirms
    await expect(dialog.locator("[data-canned-list] li")).to_have_count(0)
    assert await sync_to_async(_canned_count)() == 0
    # The one refusal the test provoked (the bad shortcut) is the only console error.
    assert [e for e in errors_of(ann) if "status of 400" not in e] == []
    assert server.tracebacks() == []


def _canned_count() -> int:
    from agents.models import CannedResponse

    return CannedResponse.objects.count()
