"""The chat app's WebSocket routes (included by ``chat_project.routing``)."""

from django.urls import path

from chat.gateway.consumer import ChatConsumer
from chat.gateway.socketio import SocketIOChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    # Socket.IO clients (io(url, {transports: ["websocket"]})): the same consumer.
    path("socket.io/", SocketIOChatConsumer.as_asgi()),
]
