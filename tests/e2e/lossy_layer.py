"""A channel layer that loses fan-out on purpose (tests only).

Selected with ``CHANNEL_LAYER_BACKEND=tests.e2e.lossy_layer.LossyPubSubChannelLayer``;
drops ``LOSSY_LAYER_DROP_RATE`` (default 0.1) of ``group_send`` calls to room groups, so
the gateway's replay paths (gap repair, ``sync``) are what delivers those events.
"""

from __future__ import annotations

import os
import random

from chat_project.patches.channel_layer import PubSubChannelLayer


class LossyPubSubChannelLayer(PubSubChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.drop_rate = float(os.environ.get("LOSSY_LAYER_DROP_RATE", "0.1"))
        self.random = random.Random(os.environ.get("LOSSY_LAYER_SEED", "4"))
        self.dropped = 0

    def _loses(self, group: str) -> bool:
        if group.startswith("room.") and self.random.random() < self.drop_rate:
            self.dropped += 1
            return True
        return False

    async def group_send_many(self, messages):
        await super().group_send_many([(g, m) for g, m in messages if not self._loses(g)])

    async def group_send(self, group, message):
        if self._loses(group):
            return
        # The parent proxies group_send per event loop through __getattr__.
        await self._get_layer().group_send(group, message)
