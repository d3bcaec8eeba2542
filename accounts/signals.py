"""What accounts announces to the apps built on it (routing listens)."""

from django.dispatch import Signal

# user: an agent's status or accepting-chats switch changed (it may take rooms now).
agent_availability_changed = Signal()
