"""ASGI entry point: HTTP goes to Django (on pooled threads, ``asgi_http``), WebSockets
through the origin check and the handshake stack (a bound on handshakes in progress,
session auth: ``chat_project.ws_handshake``) to the routed consumers (the Channels stack
of STYLE.md)."""

import gc
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
django.setup(set_prefix=False)  # as get_asgi_application(), before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from chat_project import daphne_transport  # noqa: E402
from chat_project.asgi_http import PooledThreadASGIHandler  # noqa: E402
from chat_project.routing import websocket_urlpatterns  # noqa: E402
from chat_project.ws_handshake import HandshakeMiddleware  # noqa: E402


def allowed_origins() -> list[str]:
    # A bare host name matches that host on any scheme and port; a missing Origin
    # header is refused unless "*" is listed.
    return settings.WS_ALLOWED_ORIGINS or settings.ALLOWED_HOSTS


sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_MS / 1000)  # the server process only
# Close frames for transport failures (1009) and no body parsing by Twisted (issue 18).
daphne_transport.install()
django_asgi_app = PooledThreadASGIHandler(threads=settings.HTTP_THREADS)
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": OriginValidator(
            HandshakeMiddleware(URLRouter(websocket_urlpatterns)), allowed_origins()
        ),
    }
)

# The cyclic GC, tuned for a process holding thousands of long-lived sockets (issue 8,
# scenario 1). With the defaults, full collections ran every ~5 s while sockets
# connected and paused the event loop for 0.4-1.9 s each (every socket's objects are
# walked), long enough for queued handshakes to time out. Everything loaded so far
# (Django, the apps, Twisted, ...) lives as long as the process: frozen, no collection
# walks it again. Young collections every 10,000 net allocations instead of 700 (the
# middle generation stays at most ~100,000 objects, ~0.1 s to walk); a full collection
# is considered after 100 middle ones instead of 10.
gc.freeze()
gc.set_threshold(10_000, 10, 100)
