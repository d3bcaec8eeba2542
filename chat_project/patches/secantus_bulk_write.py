"""SecantusDB: ``bulkWrite`` honours ``writeConcern.j`` as mongod does.

mongod documents the ``j`` option of a write concern as "requests acknowledgment that the
mongod instances ... have written to the on-disk journal" (docs/manual/reference/
write-concern), for every write command, MongoDB 8.0's ``bulkWrite`` included.
SecantusDB 0.7.0b3 honours it on ``insert``, ``update``, ``delete`` and
``findAndModify`` (each commit with ``sync=on``), but its ``bulkWrite`` runs each op as
a sub-command WITHOUT the write concern, so ``j: true`` is silently dropped there and an
acknowledged round of the timeline writer (``chat.writer``) can be lost to a crash of
the database process.

The patch runs the command as before and then, when ``j`` was asked for and something
was written, flushes WiredTiger's log to disk once (``WT_SESSION::log_flush("sync=on")``,
which syncs every log record written so far): one sync per command, what mongod's
journal commit does for a batch. In-memory servers have no log: nothing to do.

Used only by :mod:`chat_project.dev.servers` (the embedded server's process); production
runs mongod. ``chat_project/tests/test_secantus_bulk_write.py`` kills the server right after
acknowledged rounds and finds every one of them after a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

_COMMAND = "bulkWrite"
# A flush slower than this is logged: a durable commit waits for the disk, and the
# benchmarks' slowest acks are these (docs/benchmarks.md).
SLOW_FLUSH_SECONDS = 0.05

logger = logging.getLogger(__name__)


def _wrote_something(reply: Mapping[str, Any]) -> bool:
    counts = ("nInserted", "nModified", "nUpserted", "nDeleted")
    return bool(reply.get("ok")) and any(reply.get(name) for name in counts)


def journaled(bulk_write: Callable[..., dict[str, Any]], wants_journal: Callable[..., bool]):
    def bulk_write_journaled(doc: dict[str, Any], ctx: Any) -> dict[str, Any]:
        reply = bulk_write(doc, ctx)
        if wants_journal(doc) and _wrote_something(reply):
            storage = ctx.storage
            if not storage.in_memory and getattr(storage, "_durable", True):
                started = time.monotonic()
                storage._session().log_flush("sync=on")
                took = time.monotonic() - started
                if took > SLOW_FLUSH_SECONDS:
                    logger.warning("journal flush took %.0f ms", took * 1000)
        return reply

    bulk_write_journaled.__wrapped__ = bulk_write  # type: ignore[attr-defined]
    return bulk_write_journaled


def install() -> None:
    from secantus import commands

    handler = commands._HANDLERS[_COMMAND]
    if getattr(handler, "__wrapped__", None) is None:
        commands._HANDLERS[_COMMAND] = journaled(handler, commands._wants_journal)
