"""The agent console's tools and the customer's side of them in headless Chromium (issue
16): a private note, a canned response by its shortcut, a tag, the customer's rating
after the close, and the customer never seeing the note; then the attention signals
(title count, notification) while the tab is hidden or another chat is open."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The page tests' fixtures: Playwright's expect; agents Ann and Ben.
expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of

SECRET = "Customer is on a legacy plan: goodwill credit OK"
# Notifications recorded instead of shown (headless Chromium shows none), permission given.
FAKE_NOTIFICATIONS = """
window.__notified = [];
window.Notification = class {
  constructor(title, options) { window.__notified.push({title, body: (options || {}).body}); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""
# The tab's visibility, switched by the test (window.__hide(true) / (false)).
FAKE_VISIBILITY = """
window.__hidden = false;
Object.defineProperty(document, "hidden", {get: () => window.__hidden});
Object.defineProperty(document, "visibilityState",
  {get: () => (window.__hidden ? "hidden" : "visible")});
window.__hide = (hidden) => {
  window.__hidden = hidden;
  document.dispatchEvent(new Event("visibilitychange"));
};
"""


def shared_canned(admin):
    from agents.services import canned_create

    canned_create(
        user=admin,
        shortcut="thanks",
        text="Thanks {customer_name}, this is {agent_name}: I'm on it.",
        shared=True,
    )


def room_state(room_id):
    from chat.models import Room

    room = Room.objects.get(pk=room_id)
    return room.tags, room.rating, room.rating_comment


async def test_note_canned_response_tag_and_rating(
    open_page, agents, make_user, support_admin, expect, server
):
    await sync_to_async(make_user)(username="gina", role="user", display_name="Gina")
    await sync_to_async(shared_canned)(support_admin)
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    gina = await open_page("/chat/")
    await sign_in(gina, "gina")
    await start_chat(gina, "Plan", "Can I get a discount?")
    await expect(gina.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    room_id = await gina.evaluate("() => [...window.supportChat.rooms.keys()][0]")
    await ann.locator("[data-room-list] .room-item button").click()
    await expect(ann.locator(".msg.theirs .text")).to_have_text(["Can I get a discount?"])

    # A private note: in Ann's timeline, never on Gina's page.
    await ann.click("[data-note-open]")
    await ann.fill("[data-note-text]", SECRET)
    await ann.press("[data-note-text]", "Enter")
    note = ann.locator(".private-note")
    await expect(note.locator(".text")).to_have_text(SECRET)
    await expect(note.locator(".note-label")).to_have_text("Private note")

    # A second note, deleted: the first click only asks, the second deletes.
    await ann.click("[data-note-open]")
    await ann.fill("[data-note-text]", "typo note")
    await ann.press("[data-note-text]", "Enter")
    typo = ann.locator(".private-note", has_text="typo note")
    delete = typo.locator("[data-action=delete-note]")
    await delete.click()
    await expect(delete).to_have_text("Delete?")
    await expect(typo.locator(".text")).to_have_text("typo note")
    await delete.click()
    await expect(ann.locator(".private-note .text.deleted")).to_have_text(["Note deleted"])
    await expect(note.first.locator(".text")).to_have_text(SECRET)

    # A canned response: "/tha" offers /thanks, Enter puts it in with the names filled.
    await ann.locator("[data-text]").press_sequentially("/tha", delay=20)
    menu = ann.locator("[data-canned-menu] li")
    await expect(menu).to_have_count(1)
    await expect(menu.locator(".shortcut")).to_have_text("/thanks")
    await ann.press("[data-text]", "Enter")
    filled = "Thanks Gina, this is Ann Agent: I'm on it."
    await expect(ann.locator("[data-text]")).to_have_value(filled)
    await expect(ann.locator("[data-canned-menu]")).to_be_hidden()
    await ann.press("[data-text]", "Enter")
    await expect(gina.locator(".msg.theirs .text")).to_have_text([filled])

    # A tag, added and shown; then one removed.
    for tag in ("Billing", "discount"):
        await ann.fill("[data-tag-input]", tag)
        await ann.press("[data-tag-input]", "Enter")
    await expect(ann.locator("[data-tag-list] .tag")).to_have_count(2)
    await ann.locator(".tag[data-tag=discount] button").click()
    await expect(ann.locator("[data-tag-list] .tag span")).to_have_text(["billing"])
    # The three changes in a row are one line (issue 31, item 14).
    await expect(ann.locator(".staff-line.tag-group")).to_have_text(
        ["Ann Agent tagged the chat “billing”; added and removed “discount”"]
    )

    # Gina saw none of it, live or after a reload.
    for _ in range(2):
        await expect(gina.locator(".msg.theirs")).to_have_count(1)
        content = await gina.content()
        assert SECRET not in content
        assert "billing" not in content
        store = await gina.evaluate(
            "() => JSON.stringify([...window.supportChat.rooms.values()]"
            ".map(r => [...r.notes.values()]))"
        )
        assert SECRET not in store
        await gina.reload()
        await pages.connected(gina)

    # Ann closes the chat; Gina is asked for a rating and gives 4 with a comment.
    await ann.click("[data-close-room]")
    await ann.click("[data-close-room]")
    await expect(gina.locator("[data-rating-form]")).to_be_visible()
    await gina.click(".star[data-score='4']")
    await gina.fill("[data-rating-form] [name=comment]", "Quick and kind")
    await gina.click("[data-rating-form] button[type=submit]")
    await expect(gina.locator("[data-rating-done]")).to_have_text(
        "You rated this chat 4 of 5. Thank you!"
    )
    await expect(ann.locator("[data-room-rating]")).to_have_text("Rated 4/5: “Quick and kind”")
    await expect(ann.locator(".staff-line.room-rated")).to_contain_text("Gina rated the chat 4/5")
    assert await sync_to_async(room_state)(room_id) == (["billing"], 4, "Quick and kind")
    assert SECRET not in await gina.content()
    assert errors_of(ann, gina) == []
    assert server.tracebacks() == []


async def test_attention_while_away(open_page, agents, make_user, expect, server):
    for name in ("hank", "iris"):
        await sync_to_async(make_user)(username=name, role="user", display_name=name.title())
    ann = await open_page("/agent/")
    await ann.add_init_script(FAKE_NOTIFICATIONS)
    await ann.reload()
    await sign_in(ann, "ann")
    hank = await open_page("/chat/")
    await hank.add_init_script(FAKE_NOTIFICATIONS + FAKE_VISIBILITY)
    await hank.reload()
    await sign_in(hank, "hank")
    await start_chat(hank, "Order", "Where is order 7?")
    await expect(hank.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    await ann.wait_for_function("() => window.__notified.length === 1")  # no chat was open
    await ann.locator("[data-room-list] .room-item button").first.click()

    # A new chat arrives while Ann has another one open: she is told.
    iris = await open_page("/chat/")
    await sign_in(iris, "iris")
    await start_chat(iris, "Refund", "I want my money back")
    await ann.wait_for_function("() => window.__notified.length >= 2")
    # A message in the chat Ann has open, tab visible: nothing more.
    await send(hank, "any news?")
    await expect(ann.locator(".msg.theirs .text").last).to_have_text("any news?")
    await send(iris, "hello?")
    await ann.wait_for_function("() => window.__notified.some(n => n.body === 'hello?')")
    notified = await ann.evaluate("() => window.__notified.map(n => [n.title, n.body])")
    assert notified == [
        ["New chat", "A chat with Hank is yours."],
        ["New chat", "A chat with Iris is yours."],
        ["New message from Iris", "hello?"],
    ]

    # Hank's tab is hidden: Ann's reply counts in his title and notifies him.
    await hank.evaluate("() => window.__hide(true)")
    await send(ann, "It ships today.")
    await expect(hank).to_have_title("(1) Chat with support")
    await hank.wait_for_function("() => window.__notified.length === 1")
    await hank.evaluate("() => window.__hide(false)")
    await expect(hank).to_have_title("Chat with support")
    await expect(hank.locator("[data-sound]")).not_to_be_checked()
    assert errors_of(ann, hank, iris) == []
    assert server.tracebacks() == []
