"""The customer page as customers use it (issue 31): an honest line while waiting; a
way to end the chat and to read earlier ones; sign-up errors in plain words, by the
field they are about."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages
from tests.browser.test_team_pages import _teams

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect = pages.expect
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of


async def test_the_waiting_line_says_what_is_true(open_page, make_user, expect, server):
    """Issue 31 item 5: "All our agents are busy" showed with nobody online at all, and
    above the card of a closed team, with an estimate of 165 minutes."""
    await sync_to_async(_teams)(make_user)  # Ann (Billing), Erin, Fred; Night is closed
    await sync_to_async(make_user)(username="gail", role="user", display_name="Gail")
    await sync_to_async(_one_chat_each, thread_sensitive=True)()

    # Nobody online.
    erin = await open_page("/chat/")
    await sign_in(erin, "erin")
    await start_chat(erin, "Order", "Where is my order?")
    line = erin.locator("[data-queue-info]")
    await expect(line).to_contain_text(
        "No agent is online right now. You are number 1 in the queue"
    )
    await expect(line).not_to_contain_text("busy")

    # Ann comes online, not accepting chats: nobody available, still not "busy".
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    await expect(line).to_contain_text("No agent is available right now.")

    # Ann accepting: Erin's chat goes to her and fills her one slot; the next customer
    # waits behind a busy agent, with the estimate.
    await pages.set_accepting(ann, "ann", True)
    await expect(erin.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    gail = await open_page("/chat/")
    await sign_in(gail, "gail")
    await start_chat(gail, "Refund", "Refund please")
    await expect(gail.locator("[data-queue-info]")).to_contain_text(
        "All our agents are busy. You are number 1 in the queue"
    )

    # A closed team: the place in line for the opening, no "busy", no estimate.
    fred = await open_page("/chat/")
    await sign_in(fred, "fred")
    await fred.locator("[data-topic-select]").select_option(label="Night desk (closed now)")
    await fred.fill("[data-start-form] [name=message]", "Night question")
    await fred.click("[data-start-form] button[type=submit]")
    await expect(fred.locator("[data-offline]")).to_be_visible()
    fred_line = fred.locator("[data-queue-info]")
    await expect(fred_line).to_have_text(
        "You are number 1 in line for when we open. You can already write your messages."
    )
    assert errors_of(ann, erin, gail, fred) == []
    assert server.tracebacks() == []


def _one_chat_each() -> None:
    """Ann takes one chat at a time, and does not accept chats when she signs in."""
    from accounts.models import User

    User.objects.filter(username="ann").update(max_chats=1, accepting_chats=False)


async def test_the_customer_ends_a_chat_and_reads_it_again_later(
    open_page, make_user, expect, screenshot, server
):
    """Issue 31 item 9: the customer could not end a chat, and a new chat hid the
    earlier one for good."""
    await sync_to_async(make_user)(
        username="ann", role="agent", display_name="Ann Agent", max_chats=3
    )
    await sync_to_async(make_user)(username="nora", role="user", display_name="Nora")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    nora = await open_page("/chat/")
    await sign_in(nora, "nora")
    await expect(nora.locator("[data-past]")).to_be_hidden()  # nothing earlier yet
    await start_chat(nora, "Password", "I forgot my password")
    await expect(nora.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    await ann.locator("[data-room-list] .room-item button").click()
    await send(ann, "I sent you a reset link")
    await expect(nora.locator(".msg.theirs .text")).to_have_text(["I sent you a reset link"])

    # Nora ends it (a second click confirms); both sides see it closed.
    end = nora.locator("[data-end-chat]")
    await end.click()
    await expect(end).to_have_text("End this chat?")
    await end.click()
    await expect(nora.locator("[data-closed-note]")).to_be_visible()
    await expect(nora.locator("[data-composer]")).to_be_hidden()
    await expect(end).to_be_hidden()
    await expect(ann.locator("[data-room-pane]")).to_have_attribute("data-status", "closed")

    # A new chat; the earlier one is listed on the start screen and opens to be read.
    await nora.click("[data-new-chat]")
    past = nora.locator("[data-past-list] li")
    await expect(past).to_have_count(1)
    await expect(past).to_contain_text("Password")
    await expect(past).to_contain_text("with Ann Agent")
    await screenshot(nora, "customer-start.png")
    await past.locator("button").click()
    await expect(nora.locator(".msg .text")).to_have_text(
        ["I forgot my password", "I sent you a reset link"]
    )
    await expect(nora.locator("[data-composer]")).to_be_hidden()
    await nora.click("[data-new-chat]")
    await start_chat(nora, "Billing", "Another question")
    await expect(nora.locator("[data-past]")).to_be_hidden()
    await expect(nora.locator(".msg.mine .text")).to_have_text(["Another question"])

    # A reload shows the open chat, and the earlier one is still there after it ends.
    await nora.reload()
    await pages.connected(nora)
    await expect(nora.locator(".msg.mine .text")).to_have_text(["Another question"])
    await nora.locator("[data-end-chat]").click()
    await nora.locator("[data-end-chat]").click()
    await nora.click("[data-new-chat]")
    await expect(past).to_have_count(2)
    assert errors_of(ann, nora) == []
    assert server.tracebacks() == []


async def test_sign_up_errors_are_plain_words_under_their_fields(
    open_page, make_user, expect, server
):
    """Issue 31 item 10: sign-up errors appeared raw, one at a time, as "password: This
    password is too short…"."""
    await sync_to_async(make_user)(username="olga", role="user", display_name="Olga")
    page = await open_page("/chat/")
    await page.click("[data-register] summary")
    form = page.locator("[data-register-form]")
    error = form.locator("[data-field-error]")

    # Empty: each field says what it needs, before anything is sent.
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=username]")).to_have_text("Choose a username.")
    await expect(form.locator("[data-field-error=email]")).to_have_text(
        "Enter your e-mail address."
    )
    await expect(form.locator("[data-field-error=password]")).to_have_text("Choose a password.")
    await expect(form.locator("[name=username]")).to_be_focused()
    await expect(form.locator("[name=username]")).to_have_attribute("aria-invalid", "true")

    # The server's refusals, reworded where they were not plain, each at its field.
    await form.locator("[name=username]").fill("olga")
    await form.locator("[name=email]").fill("olga.new@example.com")
    await form.locator("[name=password]").fill("12345678")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=username]")).to_have_text(
        "That username is taken, or too close to an existing name."
    )
    await form.locator("[name=username]").fill("olga2")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=password]")).to_have_text(
        "This password is too common: choose one that is harder to guess."
        " Use letters too, not only digits."
    )
    await expect(error).to_have_count(1)  # the username's is gone
    assert "password:" not in await form.inner_text()
    await form.locator("[name=display_name]").fill("Ms\u200b Two")
    await form.locator("[name=password]").fill(pages.NEW_PASSWORD)
    await form.locator("button[type=submit]").click()
    await expect(form.locator("[data-field-error=display_name]")).to_have_text(
        "Your name has invisible or control characters: type it again without them."
    )

    # Fixed: signed up and in.
    await form.locator("[name=display_name]").fill("Olga Two")
    await form.locator("button[type=submit]").click()
    await pages.connected(page)
    await expect(page.locator("[data-start]")).to_be_visible()
    # The refusals the test provoked (400) are the only console errors.
    assert [e for e in errors_of(page) if "status of 400" not in e] == []
    assert server.tracebacks() == []
