"""``SocketIOChatConsumer`` at ``/socket.io/``: :class:`chat.consumers.ChatConsumer` (every
event, rule and limit of ``/ws/chat/``) spoken as Socket.IO by
:class:`chat_project.socketio_transport.SocketIOTransport` (issue 14). A Socket.IO socket
and a plain WebSocket share rooms, presence and fan-out: they are the same consumer."""

from __future__ import annotations

from chat.consumers import ChatConsumer
from chat_project.socketio_transport import SocketIOTransport


class SocketIOChatConsumer(SocketIOTransport, ChatConsumer):
    pass
