"""``SocketIOChatConsumer`` at ``/socket.io/``: :class:`chat.gateway.consumer.ChatConsumer` (every
event, rule and limit of ``/ws/chat/``) spoken as Socket.IO by
:class:`chat_project.gateway.socketio.SocketIOTransport` (issue 14). A Socket.IO socket
and a plain WebSocket share rooms, presence and fan-out: they are the same consumer."""

from __future__ import annotations

from chat.gateway.consumer import ChatConsumer
from chat_project.gateway.socketio import SocketIOTransport


class SocketIOChatConsumer(SocketIOTransport, ChatConsumer):
    pass
