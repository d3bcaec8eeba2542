"""chat_project.csp and its middleware: the admin's and the API docs' policies (issue 28,
item 8). The pages running under them in Chromium: tests/browser/test_admin_csp.py."""

from __future__ import annotations

import re

import pytest

from chat_project import csp

pytestmark = pytest.mark.django_db(transaction=True)


def policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/accounts/user/"])
def test_admin_pages_send_a_policy_without_inline_script(client, support_admin, path):
    """Issue 28: /admin/ was served without a Content-Security-Policy."""
    client.force_login(support_admin)
    found = policy(client.get(path, follow=True))
    assert found["script-src"] == ["'self'"]
    assert found["default-src"] == ["'none'"]
    assert found["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in found["style-src"]


def test_the_admin_allows_exactly_its_fixed_style_blocks():
    """Each fixed <style> block of the admin templates by its hash; nothing else."""
    hashes = csp.style_hashes(csp.ADMIN_STYLE_TEMPLATES)
    assert len(hashes) == 2
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", h) for h in hashes)
    assert csp.admin_policy().endswith("style-src 'self' " + " ".join(hashes))


def test_the_api_docs_page_has_no_inline_script_or_style(client):
    """Issue 28: the docs page had an inline script (and style); the split view loads
    its init script from a URL, the style is a static file."""
    page = client.get("/api/docs/")
    found = policy(page)
    assert (found["script-src"], found["style-src"]) == (["'self'"], ["'self'"])
    html = page.content.decode()
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    [init] = re.findall(r'<script src="([^"]*script=[^"]*)"', html)
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_other_paths_get_no_policy_from_here(client):
    assert "Content-Security-Policy" not in client.get("/api/health")
    # the chat pages keep their own (chat.pages.page_csp)
    assert "connect-src" in client.get("/chat/")["Content-Security-Policy"]
