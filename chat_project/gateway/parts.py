"""Server events too large for one frame, sent in parts (a mixin of
``chat_project.gateway.consumer.EventConsumer``, which provides ``encode_json`` and
``send_event``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings


class ChunkedSending:
    async def send_event_in_parts(
        self,
        event: str,
        data: dict[str, Any],
        key: str,
        part_of: Callable[[dict[str, Any], list[Any], bool], dict[str, Any]],
        *,
        keep_whole: tuple[str, ...] = (),
    ) -> None:
        """Send ``event`` with ``data``, in several frames when it does not fit the
        transport's limit (Autobahn applies ``WS_TRANSPORT_MAX_BYTES`` to outgoing
        messages too): ``data[key]`` (a list) is cut into parts that fit, in order, and
        ``part_of(base, items, last)`` makes each frame's data from ``base`` (``data``
        without ``key`` and the ``keep_whole`` fields) and its items."""
        items = data.get(key)
        budget = settings.WS_TRANSPORT_MAX_BYTES - 8 * 1024
        if not isinstance(items, list) or len(await self.encode_json(data)) <= budget:
            await self.send_event(event, data)
            return
        parts: list[list[Any]] = [[]]
        size = 0
        for item in items:
            item_size = len(await self.encode_json(item)) + 1
            if parts[-1] and size + item_size > budget:
                parts.append([])
                size = 0
            parts[-1].append(item)
            size += item_size
        base = {k: v for k, v in data.items() if k != key and k not in keep_whole}
        for index, part in enumerate(parts):
            await self.send_event(event, part_of(base, part, index == len(parts) - 1))
