"""asgiref: which event loop a ``sync_to_async`` thread works for.

asgiref records, on the thread that runs a ``sync_to_async`` call, the loop the call came
from (``SyncToAsync.threadlocal.main_event_loop`` and ``main_event_loop_pid``: internals,
not API) so that ``async_to_sync`` inside it can go back to that loop. The fan-out
(``chat_project.fanout``) reads them to hand a publish to the process's loop instead of
blocking its thread. asgiref is pinned exactly; ``chat_project/tests/test_patches.py``
checks that a ``sync_to_async`` thread still sees its caller's loop there.
"""

from __future__ import annotations

import asyncio
import os

from asgiref.sync import SyncToAsync


def sync_to_async_caller_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop this ``sync_to_async`` thread was called from, or None."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None
