"""The chat gateway: the socket handlers of the chat contract and what each socket
has delivered of each room (``chat.gateway.consumer.ChatConsumer`` at ``/ws/chat/``, the
same consumer framed as Socket.IO at ``/socket.io/``)."""
