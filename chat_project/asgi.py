"""ASGI entry point: HTTP goes to Django (on pooled threads, ``asgi_http``), WebSockets
through the origin check and the session auth stack to the routed consumers (the
Channels stack of STYLE.md)."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
django.setup(set_prefix=False)  # as get_asgi_application(), before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from chat_project.asgi_http import PooledThreadASGIHandler  # noqa: E402
from chat_project.routing import websocket_urlpatterns  # noqa: E402


def allowed_origins() -> list[str]:
    # A bare host name matches that host on any scheme and port; a missing Origin
    # header is refused unless "*" is listed.
    return settings.WS_ALLOWED_ORIGINS or settings.ALLOWED_HOSTS


sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_MS / 1000)  # the server process only
django_asgi_app = PooledThreadASGIHandler(threads=settings.HTTP_THREADS)
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": OriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), allowed_origins()
        ),
    }
)
