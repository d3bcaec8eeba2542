"""The two page views without a browser: served to anyone (the page itself asks who is
signed in), with the CSRF cookie and the page's limits, and the static files found."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


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
    for name in ("client.js", "ui.js", "customer.js", "agent.js", "style.css"):
        assert finders.find(f"chat/{name}"), name


def test_scripts_never_insert_html():
    """Message text and every other user value go in with textContent (issue 7)."""
    for name in ("client.js", "ui.js", "customer.js", "agent.js"):
        source = Path(finders.find(f"chat/{name}")).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source), (
            name
        )
