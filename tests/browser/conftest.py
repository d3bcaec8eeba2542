"""Browser fixtures: headless Chromium from Debian (``/usr/bin/chromium``, or
``CHROMIUM_PATH``) driven by Playwright's asyncio API against the real daphne processes of
the end-to-end suite (``tests.e2e.conftest``), with the embedded servers of the run.

Nothing downloads a browser: Playwright only launches the system Chromium. Where it is
missing the browser tests are skipped with the command that installs it, or fail when
``BROWSER_TESTS_REQUIRED=1`` (``./test.sh`` sets it once it has installed Chromium).

The tests are async: Playwright's sync API runs an event loop in the test's thread,
where Django refuses ORM calls; ORM work goes through ``sync_to_async`` as in the e2e
suite. One browser per test (a launch takes well under a second).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e import conftest as e2e

# The e2e fixtures: lazily started daphne processes (the run's embedded servers).
_servers = e2e._servers
server = e2e.server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = (
    "apt-get update && apt-get install -y chromium chromium-driver (as root), "
    "and pip install -e '.[dev]' for playwright"
)
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _unavailable(reason: str) -> None:
    message = f"{reason}: {INSTALL_HINT}"
    if os.environ.get("BROWSER_TESTS_REQUIRED") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
async def browser():
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"no Chromium at {CHROMIUM}")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def open_page(browser, server):
    """``await open_page(path, viewport=LAPTOP)`` -> a page in a fresh browser context (its
    own cookies and localStorage: one person's browser) on the test server. Page errors
    and console errors are collected on ``page.errors``."""

    async def open_(path: str, *, viewport: dict | None = None):
        context = await browser.new_context(base_url=server.http_url, viewport=viewport or LAPTOP)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: page.errors.append(msg.text) if msg.type == "error" else None,
        )
        await page.goto(path)
        return page

    return open_


@pytest.fixture
def screenshot(tmp_path):
    """``screenshot(page, "customer.png")``: into docs/ with UPDATE_SCREENSHOTS=1 (how the
    README's pictures are made), else into the test's temporary folder."""

    async def take(page, name: str) -> Path:
        folder = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
        path = folder / name
        await page.screenshot(path=str(path))
        return path

    return take
