"""The page's connection as people live it (issue 31, item 1): a cut network shows at
once and says that what is written waits; the message written meanwhile is sent once
when the network is back; a socket that goes silent without the browser noticing is
probed and replaced."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of
# Console noise of the outage itself: requests the page makes while the network is cut.
OUTAGE_ERRORS = ("net::ERR_INTERNET_DISCONNECTED", "WebSocket connection to")


async def chatting(open_page, make_user, expect, username: str):
    """Ann's console and a customer's page, in one chat that Ann has open."""
    await sync_to_async(make_user)(username=username, role="user", display_name=username.title())
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    customer = await open_page("/chat/")
    await sign_in(customer, username)
    await start_chat(customer, "Login", "I cannot sign in")
    await expect(customer.locator("[data-room-title]")).to_have_text("Chatting with Ann Agent")
    await ann.locator("[data-room-list] .room-item button").click()
    await expect(ann.locator(".msg.theirs .text")).to_have_text(["I cannot sign in"])
    room_id = await customer.evaluate("() => [...window.supportChat.rooms.keys()][0]")
    return ann, customer, room_id


async def test_offline_for_22_seconds_is_shown_at_once_and_the_message_goes_once_after(
    open_page, agents, make_user, expect, screenshot, server
):
    """Issue 31 item 1: with the network cut, the page said nothing and the socket still
    reported open; the message sat on "Sending…"."""
    ann, dave, room_id = await chatting(open_page, make_user, expect, "dave")
    strip = dave.locator("[data-netstate]")
    await expect(strip).to_be_hidden()

    await dave.context.set_offline(True)
    cut = time.monotonic()
    await expect(strip).to_be_visible(timeout=2000)
    await expect(strip).to_contain_text("You are offline")
    await expect(dave.locator("[data-conn]")).to_have_text("Offline")
    assert await dave.evaluate("() => window.supportChat.socket.isOpen") is False

    # Written while offline: visibly waiting, with the reason.
    await send(dave, "written while the network was cut")
    pending = dave.locator(".msg.pending")
    await expect(pending).to_have_attribute("data-status", "queued")
    await expect(pending.locator(".mark")).to_contain_text("Waiting for the connection")
    await screenshot(dave, "customer-offline.png")
    await send(ann, "are you still there?")

    await asyncio.sleep(max(0.0, 22 - (time.monotonic() - cut)))
    await expect(strip).to_contain_text("You are offline")  # still honest after 22 s
    await expect(pending).to_have_attribute("data-status", "queued")
    await expect(ann.locator(".msg.theirs")).to_have_count(1)

    await dave.context.set_offline(False)
    await expect(strip).to_have_text("Back online.")
    await expect(ann.locator(".msg.theirs .text")).to_have_text(
        ["I cannot sign in", "written while the network was cut"]
    )
    await expect(dave.locator(".msg.pending")).to_have_count(0)
    await expect(dave.locator(".msg.theirs .text")).to_have_text(["are you still there?"])
    await expect(strip).to_be_hidden(timeout=8000)
    assert await sync_to_async(pages.stored_texts)(room_id) == [
        "I cannot sign in",
        "are you still there?",
        "written while the network was cut",
    ]
    rows = await pages.message_rows(dave)
    assert len({message_id for message_id, _ in rows}) == len(rows) == 3
    noise = [e for e in errors_of(ann, dave) if not any(o in e for o in OUTAGE_ERRORS)]
    assert noise == []
    assert server.tracebacks() == []


async def test_a_silent_socket_is_probed_dropped_and_replaced(
    open_page, agents, make_user, expect, server
):
    """A network that stops passing frames without the browser noticing (no offline
    event): the heartbeat's unanswered probe drops the socket, the page says it is
    reconnecting, and a new socket carries what was written once the network is back."""
    ann, gus, room_id = await chatting(open_page, make_user, expect, "gus")
    network = {"dead": False}
    await gus.route_web_socket("**/ws/chat/", blackhole(network))
    # Short heartbeat timings for the test; then a socket through the route.
    await gus.evaluate(
        "() => { const s = window.supportChat.socket;"
        " s.heartbeatIdleMs = 1500; s.heartbeatDeadlineMs = 1500; s.drop(); }"
    )
    await gus.wait_for_function("() => window.supportChat.socket.state === 'open'")
    await asyncio.sleep(0.5)  # the resume's sync answered
    network["dead"] = True
    await send(gus, "sent into the void")
    strip = gus.locator("[data-netstate]")
    await expect(strip).to_contain_text("Reconnecting", timeout=10000)
    await expect(gus.locator(".msg.pending")).to_have_attribute("data-status", "queued")
    network["dead"] = False
    await expect(strip).to_have_text("Back online.", timeout=20000)
    await expect(ann.locator(".msg.theirs .text")).to_have_text(
        ["I cannot sign in", "sent into the void"]
    )
    assert await sync_to_async(pages.stored_texts)(room_id) == [
        "I cannot sign in",
        "sent into the void",
    ]
    assert server.tracebacks() == []


def blackhole(network: dict):
    """A route to the real server that swallows every frame, both ways, while
    ``network["dead"]``, and refuses new sockets meanwhile (a network that carries
    nothing, without the browser knowing)."""

    async def handle(ws):
        if network["dead"]:
            await ws.close(code=1011, reason="no network")
            return
        upstream = ws.connect_to_server()
        ws.on_message(lambda message: None if network["dead"] else upstream.send(message))
        upstream.on_message(lambda message: None if network["dead"] else ws.send(message))

    return handle
