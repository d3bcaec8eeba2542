"""The agents app's one ``database_sync_to_async`` boundary (STYLE.md)."""

from channels.db import database_sync_to_async

from agents import services

queue_drain = database_sync_to_async(services.queue_drain)
routing_housekeeping = database_sync_to_async(services.routing_housekeeping)


async def agent_came_online(user_id: str, role: str) -> None:
    """An agent's first socket is up: it may take waiting rooms now."""
    if role == "agent":
        await queue_drain()


async def periodic_housekeeping() -> None:
    await routing_housekeeping()
