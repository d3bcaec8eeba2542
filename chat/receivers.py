"""What chat does when other apps announce something (connected in ``ChatConfig.ready``)."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import cleanup_requested
from chat import typing_state


@receiver(cleanup_requested)
def purge_stale_typing(sender, **kwargs) -> list[str]:
    return [f"stale typing entries removed: {typing_state.typing_stale_purge()}"]
