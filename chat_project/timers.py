"""Timers keyed by name that run a coroutine when they fire (a socket's typing expiry,
gap repair and receipt flush per room): one pending timer per key, the tasks they start
kept referenced until done, everything cancellable at once when the socket closes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable


class KeyedTimers:
    __slots__ = ("_handles", "_tasks")

    def __init__(self) -> None:
        self._handles: dict[Hashable, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()

    def start(
        self, key: Hashable, delay: float, run: Callable[[], Awaitable[None]], *, restart: bool
    ) -> None:
        """Run ``run()`` after ``delay`` seconds. ``restart``: a timer already pending for
        ``key`` is replaced (typing); otherwise it is kept (repair, receipts)."""
        if key in self._handles:
            if not restart:
                return
            self._handles.pop(key).cancel()
        self._handles[key] = asyncio.get_running_loop().call_later(delay, self._fire, key, run)

    def pending(self, key: Hashable) -> bool:
        return key in self._handles

    def cancel(self, key: Hashable) -> bool:
        """Cancel ``key``'s pending timer; whether there was one."""
        handle = self._handles.pop(key, None)
        if handle is None:
            return False
        handle.cancel()
        return True

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` now as a task kept referenced until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fire(self, key: Hashable, run: Callable[[], Awaitable[None]]) -> None:
        self._handles.pop(key, None)
        self.spawn(run())
