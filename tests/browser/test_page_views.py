"""The two page views without a browser: served to anyone (the page itself asks who is
signed in), with the CSRF cookie and the page's limits, and the static files found."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

SCRIPTS = (
    "client.js",
    "rest.js",
    "emitter.js",
    "socket.js",
    "room-store.js",
    "room-actions.js",
    "ui.js",
    "dom.js",
    "account.js",
    "room-view.js",
    "message-lines.js",
    "customer.js",
    "agent.js",
    "agent-tools.js",
    "canned.js",
    "attention.js",
    "rating.js",
    "console-transfer.js",
    "queue-state.js",
    "console-queue.js",
    "canned-manager.js",
    "customer-history.js",
    "lightbox.js",
    "customer-panel.js",
    "staff-lines.js",
)


@pytest.mark.parametrize(
    ("path", "script"), [("/chat/", "chat/customer.js"), ("/agent/", "chat/agent.js")]
)
def test_page_is_served_with_csrf_cookie_and_config(client, path, script, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 120

    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.cookies["csrftoken"].value
    html = response.content.decode()
    assert f'src="/static/{script}"' in html
    config = json.loads(re.search(r'id="chat-config"[^>]*>(.*?)</script>', html, re.S)[1])
    assert config["editWindowSeconds"] == 120
    assert config["maxMessageChars"] == settings.CHAT_MESSAGE_MAX_CHARS


def test_static_files_are_found():
    for name in (*SCRIPTS, "style.css", "tools.css"):
        assert finders.find(f"chat/{name}"), name


def test_scripts_never_insert_html():
    """Message text and every other user value go in with textContent (issue 7)."""
    for name in SCRIPTS:
        source = Path(finders.find(f"chat/{name}")).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source), (
            name
        )


def _policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


@pytest.mark.parametrize("path", ["/chat/", "/agent/"])
def test_pages_send_a_content_security_policy(client, path, settings):
    """Issue 18: /chat/ and /agent/ sent no Content-Security-Policy."""
    settings.ALLOWED_HOSTS = ["chat.example.com", "testserver"]
    response = client.get(path, HTTP_HOST="chat.example.com", secure=True)
    policy = _policy(response)
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", "wss://chat.example.com"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
    plain = _policy(client.get(path))
    assert plain["connect-src"] == ["'self'", "ws://testserver"]


@pytest.mark.parametrize("path", ["/chat/", "/agent/"])
def test_the_policy_covers_everything_the_page_references(client, path):
    """What the markup loads is same-origin (scripts, the stylesheet) or the data:
    favicon; the one inline script is a JSON data block, which never runs; no markup
    carries inline styles or event handlers."""
    html = client.get(path).content.decode()
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        assert src.startswith("/static/"), src
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline == [' id="chat-config" type="application/json"'], inline
    for href in re.findall(r'<link[^>]*\bhref="([^"]+)"', html):
        assert href.startswith("/static/") or href == "data:,", href
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)
    assert not re.search(r"<(img|iframe|object|embed|audio|video)\b", html)
