"""ASGI entry point (serve it with ``python -m chat_project.serve``, which also tunes the
process): HTTP goes through the edge (request ids, ``/metrics``: ``chat_project.edge``) to
Django (on pooled threads, ``asgi_http``), WebSockets
through the origin check and the handshake stack (a bound on handshakes in progress,
session auth: ``chat_project.gateway.handshake``) to the routed consumers (the Channels stack
of STYLE.md)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
django.setup(set_prefix=False)  # as get_asgi_application(), before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from chat_project import origins  # noqa: E402
from chat_project.edge import HttpEdge  # noqa: E402
from chat_project.gateway.handshake import HandshakeMiddleware  # noqa: E402
from chat_project.patches.asgi_http import PooledThreadASGIHandler  # noqa: E402
from chat_project.routing import websocket_urlpatterns  # noqa: E402


def compat_origins() -> list[str]:
    """The compatibility edge's frontend origins, while it is enabled: their sockets come
    in without the cookie and sign in to its namespace by session id (issue 27)."""
    return settings.COMPAT_ALLOWED_ORIGINS if settings.COMPAT_ENABLED else []


django_asgi_app = PooledThreadASGIHandler(threads=settings.HTTP_THREADS)
http_app = HttpEdge(
    ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Scheme, host and port: the served origin, WS_ALLOWED_ORIGINS and
        # CSRF_TRUSTED_ORIGINS (chat_project.origins).
        "websocket": origins.OriginCheck(
            HandshakeMiddleware(URLRouter(websocket_urlpatterns)),
            origins.configured_origins(),
            cookieless=compat_origins,
        ),
    }
)
