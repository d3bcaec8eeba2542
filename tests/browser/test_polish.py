"""The finish of the pages (issue 31, the "ugly" items): actions on hover, tag changes
grouped, image previews, drag-and-drop and paste."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.browser import test_pages as pages

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect, agents = pages.expect, pages.agents
sign_in, send, start_chat, errors_of = pages.sign_in, pages.send, pages.start_chat, pages.errors_of
PHONE = {"width": 390, "height": 844}


async def opacity(locator) -> str:
    return await locator.evaluate("e => getComputedStyle(e).opacity")


async def test_edit_and_delete_show_on_hover_or_on_a_tap(open_page, agents, make_user, expect):
    """Issue 31 item 13: "Edit · Delete" stood under every own message for 15 minutes."""
    await sync_to_async(make_user)(username="quinn", role="user", display_name="Quinn")
    quinn = await open_page("/chat/")
    await sign_in(quinn, "quinn")
    await start_chat(quinn, "Hover", "first message")
    await send(quinn, "second message")
    first, second = quinn.locator(".msg.mine").nth(0), quinn.locator(".msg.mine").nth(1)
    await expect(second.locator(".actions")).to_have_count(1)
    await quinn.mouse.move(5, 5)
    assert await opacity(first.locator(".actions")) == "0"
    assert await opacity(second.locator(".actions")) == "0"
    await second.hover()
    await quinn.wait_for_function(
        "e => getComputedStyle(e).opacity === '1'",
        arg=await second.locator(".actions").element_handle(),
    )
    assert await opacity(first.locator(".actions")) == "0"
    # Delete asks once more; while it asks, its line keeps the buttons.
    await second.locator("[data-action=delete]").click()
    await quinn.mouse.move(5, 5)
    assert await opacity(second.locator(".actions")) == "1"

    # On a touch screen: hidden until the message is tapped.
    phone = await quinn.context.browser.new_context(
        base_url=pages_base(quinn), viewport=PHONE, has_touch=True, is_mobile=True
    )
    page = await phone.new_page()
    await page.goto("/chat/")
    await sign_in(page, "quinn")
    mine = page.locator(".msg.mine").first
    await expect(mine).to_be_visible()
    assert await page.evaluate("() => matchMedia('(hover: none)').matches")
    actions = mine.locator(".actions")
    assert await actions.evaluate("e => getComputedStyle(e).visibility") == "hidden"
    await mine.locator(".bubble").tap()
    assert await actions.evaluate("e => getComputedStyle(e).visibility") == "visible"
    assert errors_of(quinn) == []


def pages_base(page) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(page.url)
    return f"{parts.scheme}://{parts.netloc}"


async def test_tag_changes_in_a_row_are_one_line(open_page, agents, make_user, expect, server):
    """Issue 31 item 14: each tag change wrote its own timeline line."""
    await sync_to_async(make_user)(username="rita", role="user", display_name="Rita")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    rita = await open_page("/chat/")
    await sign_in(rita, "rita")
    await start_chat(rita, "Tags", "Hello")
    await ann.locator("[data-room-list] .room-item button").click()
    for tag in ("billing", "vip", "refund"):
        await ann.fill("[data-tag-input]", tag)
        await ann.press("[data-tag-input]", "Enter")
        await expect(ann.locator(f".tag[data-tag={tag}]")).to_have_count(1)
    lines = ann.locator(".staff-line.tag-group")
    await expect(lines).to_have_text(["Ann Agent tagged the chat “billing”, “vip”, “refund”"])
    await send(ann, "Tagged you")  # a message ends the run
    await ann.locator(".tag[data-tag=vip] button").click()
    await ann.locator(".tag[data-tag=refund] button").click()
    await expect(lines).to_have_text(
        [
            "Ann Agent tagged the chat “billing”, “vip”, “refund”",
            "Ann Agent removed the tags “vip”, “refund”",
        ]
    )
    await ann.reload()  # the same lines from the events replay
    await pages.connected(ann)
    await ann.locator("[data-room-list] .room-item button").click()
    await expect(lines).to_have_count(2)
    await expect(lines.nth(1)).to_have_text("Ann Agent removed the tags “vip”, “refund”")
    assert errors_of(ann, rita) == []
    assert server.tracebacks() == []


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (the browser decodes it: the test sees its size)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# A file made in the page and handed to a drop or a paste, as the browser does.
DROP = """([name, selector, kind]) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(window.__png), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], name, {type: 'image/png'}));
    const target = document.querySelector(selector);
    if (kind === 'paste') {
        target.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));
    } else {
        const init = {dataTransfer: dt, bubbles: true, cancelable: true};
        target.dispatchEvent(new DragEvent('dragover', init));
        target.dispatchEvent(new DragEvent('drop', init));
    }
}"""


async def test_pictures_preview_enlarge_and_arrive_by_drop_and_paste(
    open_page, agents, make_user, expect, server
):
    """Issue 31 item 12: attachments were a file-name link; no drag-and-drop or paste."""
    import base64

    await sync_to_async(make_user)(username="sam", role="user", display_name="Sam")
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    sam = await open_page("/chat/")
    await sign_in(sam, "sam")
    await start_chat(sam, "Photo", "The parcel arrived broken")
    await ann.locator("[data-room-list] .room-item button").click()

    # The paperclip: a thumbnail on both sides, decoded under the pages' policy.
    await sam.set_input_files(
        "[data-file-input]",
        files=[{"name": "box.png", "mimeType": "image/png", "buffer": png(320, 200, (200, 0, 0))}],
    )
    await expect(sam.locator(".file-chip")).to_have_attribute("data-state", "done")
    await send(sam, "See the box")
    thumb = ann.locator(".msg.theirs .thumb img")
    await expect(thumb).to_have_count(1)
    await expect(thumb).to_have_attribute("alt", "box.png")
    await ann.wait_for_function(
        "() => { const i = document.querySelector('.msg.theirs .thumb img');"
        " return i && i.complete && i.naturalWidth === 320; }"
    )
    await expect(ann.locator(".msg.theirs .attachments a")).to_have_text("box.png")

    # A click enlarges it; Escape closes.
    await ann.locator(".msg.theirs .thumb").click()
    box = ann.locator("[data-lightbox]")
    await expect(box).to_be_visible()
    await expect(box.locator(".lightbox-name")).to_have_text("box.png")
    await ann.keyboard.press("Escape")
    await expect(box).to_be_hidden()

    # Dropped on the conversation, and pasted into the message box.
    data = base64.b64encode(png(40, 40, (20, 120, 20))).decode()
    await sam.evaluate("data => { window.__png = data; }", data)
    await sam.evaluate(DROP, ["dropped.png", "[data-room-pane]", "drop"])
    await sam.evaluate(DROP, ["pasted.png", "[data-text]", "paste"])
    chips = sam.locator(".file-chip")
    await expect(chips).to_have_count(2)
    await expect(chips.nth(0)).to_have_attribute("data-state", "done")
    await expect(chips.nth(1)).to_have_attribute("data-state", "done")
    await send(sam, "Two more")
    await expect(ann.locator(".msg.theirs").last.locator(".thumb img")).to_have_count(2)
    await expect(ann.locator(".msg.theirs").last.locator(".attachments a")).to_have_text(
        ["dropped.png", "pasted.png"]
    )
    assert errors_of(ann, sam) == []
    assert server.tracebacks() == []


def _an_earlier_chat(ben) -> None:
    """Tess had a chat with Ben before, closed and rated 5."""
    from accounts.tests.factories import UserFactory
    from chat import services
    from chat.tests.factories import room_with_agent

    tess = UserFactory(username="tess", role="user", display_name="Tess Customer")
    room = room_with_agent(tess, ben, subject="Old order")
    services.room_close(room_id=str(room.pk), actor=ben)
    services.room_rate(room_id=str(room.pk), customer=tess, score=5)


async def test_the_agent_sees_the_customer_beside_the_chat(open_page, agents, expect, server):
    """Issue 31 item 16: the agent had no customer context (e-mail, earlier chats,
    online state)."""
    _ann, ben = agents
    await sync_to_async(_an_earlier_chat)(ben)
    ann = await open_page("/agent/")
    await sign_in(ann, "ann")
    tess = await open_page("/chat/")
    await sign_in(tess, "tess")
    await start_chat(tess, "New order", "Where is it?")
    await ann.locator("[data-room-list] .room-item button").click()

    panel = ann.locator("[data-customer-panel]")
    await expect(panel).to_be_visible()  # beside the chat at 1280 px
    await expect(panel.locator(".ctx-name")).to_have_text("Tess Customer")
    await expect(panel.locator("[data-customer-email]")).to_have_text("tess@example.com")
    await expect(panel.locator("[data-customer-online]")).to_have_text("Online now")
    earlier = panel.locator("[data-customer-previous] li")
    await expect(earlier).to_have_count(1)
    await expect(earlier).to_contain_text("Old order")
    await expect(earlier).to_contain_text("Ben Agent · ★ 5/5")
    box = await ann.locator("[data-messages]").bounding_box()
    assert box["width"] >= 600, box  # the conversation keeps its room

    # Tess leaves: the panel says so, live.
    await tess.close()
    await expect(panel.locator("[data-customer-online]")).to_have_text("Offline", timeout=15000)

    # On a phone: over the conversation, from the chat's "Customer" button.
    await ann.set_viewport_size(PHONE)
    await expect(panel).to_be_hidden()
    await ann.click("[data-customer-toggle]")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".ctx-name")).to_have_text("Tess Customer")
    await ann.click("[data-customer-toggle]")
    await expect(panel).to_be_hidden()
    assert errors_of(ann) == []
    assert server.tracebacks() == []
