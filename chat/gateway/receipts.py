"""Coalescing a socket's receipts per room.

A reader's client sends ``message-delivered`` as messages arrive and ``message-read``
as they are seen, often both for the same seq within a fraction of a second. Each is a
watermark, so only the highest of each kind matters: the gateway holds a room's
receipts for ``WS_RECEIPT_COALESCE_SECONDS`` and writes them as one ``$max`` (one
database command and one ``message-status-updated`` instead of one per receipt). Every
receipt is still acknowledged, after that write, with the watermarks it produced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class PendingReceipts:
    """One socket's receipts for one room that wait for their write."""

    delivered: int = 0
    read: int | None = None
    waiters: list[asyncio.Future] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

    def add(self, kind: str, up_to_seq: int) -> asyncio.Future:
        """Merge a receipt (read implies delivered); the future resolves to its ack data."""
        self.delivered = max(self.delivered, up_to_seq)
        if kind == "read":
            self.read = max(self.read or 0, up_to_seq)
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def resolve(self, answer: dict[str, Any]) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(answer)

    def fail(self, exc: BaseException) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(exc)
