"""The integrations app's one ``database_sync_to_async`` boundary (STYLE.md).

The webhook tick runs on a thread of its own, not on the gateway's database hop pool:
its HTTP calls may take up to ``WEBHOOK_TIMEOUT_SECONDS``, and no socket's database work
may wait behind them. A tick due while the previous one still runs is skipped, so ticks
never queue up behind a slow endpoint. With nothing due a tick is a few small reads."""

from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async

from integrations import worker

_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhooks-tick")
_tick = database_sync_to_async(worker.webhooks_tick, thread_sensitive=False, executor=_thread)
_running = False


async def webhooks_tick() -> None:
    global _running
    if _running:
        return
    _running = True
    try:
        await _tick()
    finally:
        _running = False
