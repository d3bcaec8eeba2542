"""A chat that changes hands (issue 31, items 2 and 7): the customer's ticks never go
back when the chat is transferred or put back in the queue, and the agent who receives
it counts as unread only what came after the hand-over."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of
set_accepting = pages.set_accepting


def requeue(room_id: str, admin) -> None:
    from agents.services import room_requeue

    room_requeue(room_id=room_id, actor=admin, reason="the agent went home")


async def marks(page) -> list[str]:
    return await page.locator(".msg.mine").evaluate_all("els => els.map(e => e.dataset.status)")


async def marks_become(page, want: list[str]) -> None:
    """Wait until the marks of the page's own messages are ``want``."""
    await page.wait_for_function(
        "want => [...document.querySelectorAll('.msg.mine')].map(e => e.dataset.status)"
        ".join() === want",
        arg=",".join(want),
    )


async def test_ticks_never_go_back_and_unread_starts_at_the_hand_over(
    open_page, agents, make_user, support_admin, expect, server
):
    await sync_to_async(make_user)(username="hana", role="user", display_name="Hana")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    ben = await open_page("/agent/")
    await sign_in(ben, "ben")
    await set_accepting(ben, "ben", False)  # the chat goes to Ann

    hana = await open_page("/chat/")
    await sign_in(hana, "hana")
    await start_chat(hana, "Refund", "I was charged twice")
    await expect(hana.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    room_id = await hana.evaluate("() => [...window.supportChat.rooms.keys()][0]")
    await send(hana, "on the 3rd")
    await send(hana, "and the 4th")
    await ann.locator("[data-room-list] .room-item button").click()
    await expect(ann.locator(".msg.theirs")).to_have_count(3)
    await send(ann, "Let me look")
    await expect(hana.locator(".msg.mine")).to_have_count(3)
    await marks_become(hana, ["read"] * 3)

    # Transferred to Ben: what Ann read stays read on Hana's page (it fell back to
    # "Sent": Ben had no watermark yet), and Ben's badge counts nothing of the history
    # he was handed (it counted all three).
    await set_accepting(ben, "ben", True)
    await ann.click("[data-transfer-open]")
    await ann.select_option("[data-transfer-agents]", label="Ben Agent (0/3)")
    await ann.click("[data-transfer-form] button[type=submit]")
    await expect(hana.locator("[data-room-title]")).to_have_text("Chatting with Ben Agent")
    ben_item = ben.locator("[data-room-list] .room-item")
    await expect(ben_item).to_have_count(1)
    await ben.wait_for_function("() => [...window.supportChat.rooms.values()].every(r => r.loaded)")
    await ben.wait_for_timeout(300)  # and the room's notes
    assert await marks(hana) == ["read"] * 3
    await expect(ben_item.locator(".badge")).to_have_count(0)
    await send(hana, "are you there?")
    await expect(ben_item.locator(".badge")).to_have_text("1")  # only what came after
    await expect(hana.locator(".msg.mine").last).to_have_attribute("data-status", "delivered")
    assert (await marks(hana))[:3] == ["read"] * 3

    # Back in the queue (nobody accepting): no agent at all, and the ticks stay; after a
    # reload too.
    await set_accepting(ann, "ann", False)
    await set_accepting(ben, "ben", False)
    await sync_to_async(requeue)(room_id, support_admin)
    await expect(hana.locator("[data-room-title]")).to_have_text("Waiting for an agent")
    await expect(ben_item).to_have_count(0)
    await hana.wait_for_timeout(500)
    assert await marks(hana) == ["read", "read", "read", "delivered"]
    await hana.reload()
    await pages.connected(hana)
    await expect(hana.locator(".msg.mine")).to_have_count(4)
    await marks_become(hana, ["read", "read", "read", "delivered"])

    # Ann takes it again from the queue: her count starts at the requeue, so the
    # message written while it waited is unread and the one Ben had is not.
    await send(hana, "hello?")
    await set_accepting(ann, "ann", True)
    await expect(hana.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    ann_item = ann.locator("[data-room-list] .room-item")
    await expect(ann_item).to_have_count(1)
    await expect(ann_item.locator(".badge")).to_have_text("1")
    await ann.reload()
    await pages.connected(ann)
    await expect(ann.locator("[data-room-list] .room-item .badge")).to_have_text("1")
    assert errors_of(ann, ben, hana) == []
    assert server.tracebacks() == []
