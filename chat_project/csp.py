"""Content-Security-Policy of the Django admin (``/admin/``) and the API docs
(``/api/docs/``), set by ``chat_project.middleware.ContentSecurityPolicyMiddleware``
(issue 28, item 8: both had none; the chat pages have their own, ``chat.pages``).

Both run no inline script and no ``eval``: every script is a file of this origin (the
admin's own; the docs page is drf-spectacular's split view, whose init script is a URL,
not an inline block). No inline style either on the docs page (its one ``<style>`` block
is ``static/chat_project/api-docs.css``, ``templates/drf_spectacular/swagger_ui.html``).
The admin's templates carry a few fixed ``<style>`` blocks (Django's change list without
actions, the support dashboard): each is allowed by its SHA-256, computed from the
template's source when the policy is first built, so an edited block is allowed as it
is now and an injected one never is. Style attributes stay refused (set through the
CSSOM, as the admin's scripts do, they are not restricted).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from django.template import TemplateDoesNotExist
from django.template.loader import get_template

# Templates of admin pages with inline <style> blocks of fixed text.
ADMIN_STYLE_TEMPLATES = ("admin/change_list.html", "adminstats/dashboard.html")

_COMMON = [
    "default-src 'none'",
    "script-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
]


def style_hashes(template_names: tuple[str, ...]) -> list[str]:
    """``'sha256-…'`` of every ``<style>`` block of fixed text in these templates."""
    found: list[str] = []
    for name in template_names:
        try:
            source = get_template(name).template.source
        except TemplateDoesNotExist:
            continue
        for block in re.findall(r"<style>(.*?)</style>", source, re.S):
            if "{{" in block or "{%" in block:
                continue  # rendered text differs from the source: never allowed
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            found.append(f"'sha256-{digest}'")
    return found


@functools.cache
def admin_policy() -> str:
    styles = " ".join(["'self'", *style_hashes(ADMIN_STYLE_TEMPLATES)])
    return "; ".join([*_COMMON, f"style-src {styles}"])


def docs_policy() -> str:
    return "; ".join([*_COMMON, "style-src 'self'"])


def policy_for(path: str) -> str | None:
    if path.startswith("/admin/"):
        return admin_policy()
    if path.startswith("/api/docs/"):
        return docs_policy()
    return None
