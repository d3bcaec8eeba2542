"""The agents app's one ``database_sync_to_async`` boundary (STYLE.md)."""

from channels.db import database_sync_to_async

from agents import services

# Pool threads, not the process's one thread-sensitive thread: a drain or the periodic
# safety net must not hold up the database work of every socket in the process.
queue_drain = database_sync_to_async(services.queue_drain, thread_sensitive=False)
routing_housekeeping = database_sync_to_async(services.routing_housekeeping, thread_sensitive=False)


async def agent_came_online(user_id: str, role: str) -> None:
    """An agent's first socket is up: it may take waiting rooms now."""
    if role == "agent":
        await queue_drain()


async def periodic_housekeeping() -> None:
    await routing_housekeeping()
