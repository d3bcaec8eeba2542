"""Routing reacts to what chat, accounts and the gateway announce: every event that
frees capacity or brings an agent in drains the queue at once. It also answers chat's
questions about teams (``chat.routing_hooks``) and keeps its directory of teams and
skills fresh (issue 15)."""

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts import liveness
from accounts.models import User
from accounts.signals import agent_availability_changed
from agents import async_services, services
from agents.directory import directory_changed
from agents.models import AgentSkill, Skill, Team, TeamHoliday, TeamHours, TeamMember, Topic
from chat import routing_hooks
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


_DIRECTORY_MODELS = (Team, TeamMember, TeamHours, TeamHoliday, Skill, AgentSkill, Topic)


def directory_model_changed(sender, **kwargs) -> None:
    """Teams, members, hours, skills or topics changed: every process reads routing's
    directory again, and the queues drain (a new member or skill may take a room)."""
    directory_changed()
    services.queue_drain()


for _model in _DIRECTORY_MODELS:
    post_save.connect(directory_model_changed, sender=_model, dispatch_uid=f"dir-save-{_model}")
    post_delete.connect(directory_model_changed, sender=_model, dispatch_uid=f"dir-del-{_model}")


@receiver(pre_delete, sender=Team)
def team_deleted(sender, instance: Team, **kwargs) -> None:
    """Nobody would drain a deleted team's queue: its waiting rooms go to the general
    queue first (teams whose fallback it was lose their overflow with it)."""
    services.team_rooms_to_general(team_id=instance.pk, team_name=instance.name)
    Team.objects.filter(fallback=instance).update(fallback=None, overflow_after_seconds=None)


routing_hooks.register_room_target(services.room_target)
routing_hooks.register_room_extras(services.room_extras)
liveness.register_online_hook(async_services.agent_came_online)
liveness.register_periodic_hook(
    settings.ROUTING_HOUSEKEEPING_SECONDS, async_services.periodic_housekeeping
)
liveness.register_periodic_hook(settings.ROUTING_TEAMS_TICK_SECONDS, async_services.teams_tick)
liveness.register_periodic_hook(settings.ROUTING_TIMERS_TICK_SECONDS, async_services.timers_tick)
