"""Issue 28, item 8: ``/admin/`` and ``/api/docs/`` had no Content-Security-Policy. In
headless Chromium against a real daphne: the admin's pages and the docs page run under
their policies with no violation of their own, and an injected inline script does not
run."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Collected from the first script on: every violation the page reports.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
"""

INJECT = """() => new Promise(resolve => {
    document.addEventListener("securitypolicyviolation", e => resolve(e.violatedDirective));
    const s = document.createElement("script");
    s.textContent = "window.__injected = true";
    document.body.append(s);
    setTimeout(() => resolve(window.__injected ? "ran" : "silent"), 2000);
})"""


@pytest.fixture
def manager(make_user, customer, agent):
    return make_user(username="boss", role="admin")


@pytest.fixture
async def admin_page(browser, server, manager):
    cookie = (await sync_to_async(session_cookie)(manager)).split("=", 1)[1]
    context = await browser.new_context(base_url=server.http_url)
    context.set_default_timeout(10_000)
    await context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.http_url}])
    await context.add_init_script(WATCH)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.errors.append(m.text) if real_error(m) else None)
    return page


def real_error(message) -> bool:
    """A console error other than the browser's own favicon probe (the admin names none)."""
    return message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")


async def visit(page, path: str) -> dict:
    response = await page.goto(path)
    assert response.status == 200, (path, response.status)
    await page.wait_for_load_state("networkidle")
    return response.headers


async def test_the_admin_runs_under_its_policy(admin_page, agent):
    page = admin_page
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/?role__exact=agent",
        f"/admin/accounts/user/{agent.pk}/change/",
        "/admin/dashboard/",
    ):
        headers = await visit(page, path)
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy + ";", policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert await page.evaluate("() => window.__violations") == [], path
    assert page.errors == []
    assert (await page.evaluate(INJECT)).startswith("script-src")
    assert await page.evaluate("() => window.__injected === undefined")


async def test_the_api_docs_run_under_their_policy(admin_page):
    page = admin_page
    headers = await visit(page, "/api/docs/")
    assert "style-src 'self';" in headers["content-security-policy"] + ";"
    # Swagger UI rendered the schema from its init script (a URL, not an inline block).
    await page.get_by_text("/api/auth/login", exact=True).first.wait_for()
    assert await page.evaluate("() => window.__violations") == []
    assert page.errors == []
    assert (await page.evaluate(INJECT)).startswith("script-src")
