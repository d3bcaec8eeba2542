"""Routing reacts to what chat, accounts and the gateway announce: every event that
frees capacity or brings an agent in drains the queue at once."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts import liveness
from accounts.models import User
from accounts.signals import agent_availability_changed
from agents import async_services, services
from chat.signals import room_closed, room_opened

_AVAILABILITY_FIELDS = {"max_chats", "accepting_chats", "status", "is_active", "role"}


@receiver(room_opened)
def route_new_room(sender, room_id, **kwargs) -> None:
    services.queue_drain()


@receiver(room_closed)
def release_closed_room(sender, room_id, agent_id, **kwargs) -> None:
    services.room_closed_release(agent_id=agent_id)


@receiver(agent_availability_changed)
def agent_became_available(sender, user, **kwargs) -> None:
    services.queue_drain()


@receiver(post_save, sender=User)
def agent_settings_saved(sender, instance: User, created: bool, update_fields=None, **kwargs):
    """An admin raised ``max_chats`` or switched an agent on (Django admin, commands)."""
    if not instance.is_agent or created:
        return
    if update_fields is None or _AVAILABILITY_FIELDS & set(update_fields):
        services.queue_drain()


liveness.register_online_hook(async_services.agent_came_online)
liveness.register_periodic_hook(
    settings.ROUTING_HOUSEKEEPING_SECONDS, async_services.periodic_housekeeping
)
