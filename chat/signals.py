"""What the chat app announces to other apps (routing in ``agents`` listens), so that
chat never imports the apps built on it."""

from django.dispatch import Signal

# room_id: a new room is queued and waits for routing.
room_opened = Signal()
# room_id, agent_id (or None): a room closed; its agent's slot is free.
room_closed = Signal()
