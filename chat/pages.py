"""The two web pages (issue 7): the customer chat at ``/chat/`` and the agent console at
``/agent/``. Plain Django views that render a template; everything the pages do goes
through the public REST and WebSocket contract from the browser (``chat/static/chat/``),
so they double as a reference client. No data is rendered on the server: who is signed
in is asked of ``GET /api/auth/profile`` by the page itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView


def page_config() -> dict[str, Any]:
    """Limits the pages apply before asking the server (the server decides anyway)."""
    return {
        "editWindowSeconds": settings.CHAT_EDIT_WINDOW_SECONDS,
        "csatWindowSeconds": settings.CHAT_CSAT_WINDOW_SECONDS,
        "maxMessageChars": settings.CHAT_MESSAGE_MAX_CHARS,
        "maxAttachments": settings.CHAT_MESSAGE_MAX_ATTACHMENTS,
        "attachmentMaxBytes": settings.CHAT_ATTACHMENT_MAX_BYTES,
        "attachmentTypes": list(settings.CHAT_ATTACHMENT_TYPES),
    }


def page_csp(request: HttpRequest) -> str:
    """The Content-Security-Policy of the two pages (issue 18): exactly what they load.

    - scripts: the module scripts of ``chat/static/chat/`` (same origin); no inline
      script runs (the page's limits are a ``json_script`` data block, never executed),
      no ``eval``;
    - styles: ``style.css`` (same origin); no inline ``style`` attributes (scripts set
      sizes through the CSSOM, which a policy does not restrict);
    - images: the empty ``data:,`` favicon, and pictures from this origin (issue 31: the
      thumbnails of image attachments, ``/api/chat/attachments/{id}``);
    - connections: the REST API (same origin) and the socket, ``ws(s)://`` this host;
    - forms post to this origin (the scripts submit them; without scripts, back here);
      nothing may frame the pages, change their base URL or embed plugins.
    """
    socket = ("wss://" if request.is_secure() else "ws://") + request.get_host()
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {socket}",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


# The CSRF cookie comes with the page, so the first form post needs no extra round trip
# (the scripts still call GET /api/auth/csrf when the cookie is missing).
@method_decorator(ensure_csrf_cookie, name="get")
class ChatPageView(TemplateView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "chat_config": page_config()}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        response["Content-Security-Policy"] = page_csp(request)
        return response


class CustomerPageView(ChatPageView):
    template_name = "chat/customer.html"


class AgentPageView(ChatPageView):
    template_name = "chat/agent.html"
