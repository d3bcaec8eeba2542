"""The agents app's one ``database_sync_to_async`` boundary (STYLE.md)."""

from agents import services
from chat_project.hops import database_hop

# The gateway's database threads, not the one thread-sensitive thread: a drain or the periodic
# safety net must not hold up the database work of every socket in the process.
queue_drain = database_hop(services.queue_drain)
routing_housekeeping = database_hop(services.routing_housekeeping)
_teams_tick = database_hop(services.teams_tick)
_timers_tick = database_hop(services.routing_timers_tick)


async def agent_came_online(user_id: str, role: str) -> None:
    """An agent's first socket is up: it may take waiting rooms now."""
    if role == "agent":
        await queue_drain()


async def periodic_housekeeping() -> None:
    await routing_housekeeping()


async def teams_tick() -> None:
    """Overflow and team openings (issue 15), in one process at a time."""
    await _teams_tick()


async def timers_tick() -> None:
    """Ring-no-answer, SLA flags, offline e-mails (issue 30), in one process at a time."""
    await _timers_tick()
