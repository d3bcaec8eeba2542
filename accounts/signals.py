"""What accounts announces to the apps built on it (routing listens)."""

from django.dispatch import Signal

# user: an agent's status or accepting-chats switch changed (it may take rooms now).
agent_availability_changed = Signal()

# ``manage.py cleanup_sessions`` ran: apps built on accounts remove their own expired
# ephemeral state and return the lines to report (chat: stale typing entries).
cleanup_requested = Signal()
