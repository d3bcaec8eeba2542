"""WebSocket routes. Each app contributes its own ``routing.websocket_urlpatterns``."""

from chat.routing import websocket_urlpatterns as chat_routes

websocket_urlpatterns: list = [*chat_routes]
