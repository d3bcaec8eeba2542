"""WebSocket routes. Each app contributes its own ``routing.websocket_urlpatterns``."""

websocket_urlpatterns: list = []
