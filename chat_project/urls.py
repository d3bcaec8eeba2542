from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chat_project.converters import DeliveryIdConverter, ObjectIdConverter
from chat_project.gateway.socketio import polling_refused
from chat_project.health import HealthApi

register_converter(ObjectIdConverter, "oid")
register_converter(DeliveryIdConverter, "deliveryid")

urlpatterns = [
    path("api/auth/", include("accounts.api.urls")),
    path("api/chat/", include("chat.api.urls")),
    path("api/chat/", include("agents.api.urls")),
    path("api/admin/", include("adminstats.api.urls")),
    path("api/admin/", include("integrations.api.urls")),
    path("api/health", HealthApi.as_view(), name="health"),
    # The reference design's REST API, for its own clients (issue 27; off unless enabled).
    path("compat/api/", include("compat.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view: its init script is a URL, not an inline block (chat_project/csp.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Socket.IO's HTTP long-polling: refused, WebSocket only (chat_project/gateway/socketio)
    path("socket.io/", polling_refused, name="socketio-polling"),
    path("", include("chat.page_urls")),
]

handler400 = "chat_project.api.json_bad_request"
handler403 = "chat_project.api.json_permission_denied"
handler404 = "chat_project.api.json_not_found"
handler500 = "chat_project.api.json_server_error"
