"""What chat does when other apps or the process announce something (connected in
``ChatConfig.ready``)."""

from __future__ import annotations

import asyncio
import logging

from django.dispatch import receiver

from accounts.signals import cleanup_requested
from chat.gateway import typing_state
from chat.writer import timeline_writer
from chat_project import drain, metrics

logger = logging.getLogger(__name__)


@receiver(cleanup_requested)
def purge_stale_typing(sender, **kwargs) -> list[str]:
    return [f"stale typing entries removed: {typing_state.typing_stale_purge()}"]


async def timeline_writer_idle(seconds_left: float) -> None:
    """A drain (chat_project.drain): every change accepted so far is written and its
    caller answered before the sockets close."""
    if not await asyncio.to_thread(timeline_writer().wait_idle, seconds_left):
        logger.warning("drain: the timeline writer was still busy at the bound")


drain.register_hook(timeline_writer_idle)
metrics.watch_queue("timeline_writer", lambda: timeline_writer().pending())
