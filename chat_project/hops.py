"""The gateway's one way across to the database: :func:`database_hop` wraps a sync
service for the consumers (each app's ``async_services``), one thread hop per use case.

Every hop runs on one pool of ``WS_DB_THREADS`` threads per process, not on the single
thread-sensitive thread (nothing here relies on thread affinity: no transactions, no
thread-bound state) and not on the event loop's default executor, whose
``min(32, cores + 4)`` threads (6 here) capped how many of a process's changes could
ever wait for one round of the timeline writer (``chat.writer``): a caller holds its
thread while its change is written, and the more changes share a round, the fewer
rounds the database has to serve. Each socket's frames still run one at a time, in
order."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat_project import deadlines

_pool = ThreadPoolExecutor(max_workers=settings.WS_DB_THREADS, thread_name_prefix="db-hop")


def queued() -> int:
    """Hops waiting for a free thread (metrics)."""
    return _pool._work_queue.qsize()


def database_hop(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` on the pool; a request whose deadline passed while its hop waited for a
    thread is refused there, before any of ``func`` runs (``chat_project.deadlines``)."""

    @functools.wraps(func)
    def in_time(*args: Any, **kwargs: Any) -> Any:
        deadlines.check()
        return func(*args, **kwargs)

    return database_sync_to_async(in_time, thread_sensitive=False, executor=_pool)
