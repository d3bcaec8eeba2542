"""SecantusDB: a filter with an ``_id`` equality is served by the ``_id`` index, whatever
else it holds.

mongod plans ``{_id: X, last_seq: n, ...}`` as a point lookup on the ``_id`` index (an
IXSCAN of ``_id_`` bounded to ``[X, X]``, then a FETCH that applies the rest of the
filter; ``explain()`` shows it), as it does for ``{_id: X}`` alone. SecantusDB 0.7.0b3
takes its primary-key fast path only when ``_id`` is the filter's ONLY field; with any
other field it runs every generic index picker, each of which reads and decodes the
collection's index catalog again. Profiled under the timeline writer's rounds (every
compare-and-set and receipt names ``_id`` plus its conditions), that planning was over
half of the embedded server's time (docs/benchmarks.md, "The write path's rounds").

The patch gives a filter whose ``_id`` is a plain value (or ``{$eq: value}``, or
``{$in: [values]}``) the same point lookup's records as candidates. The caller still
applies the whole filter to every candidate (the contract of
``Storage._candidates_iter``), so the documents written are exactly the same; only
fewer are looked at. Timeseries collections and queries with a collation keep the
original path.

And within one write command (``bulkWrite``, ``insert``, ``update``, ``delete``) the
index catalog of a collection is read once: index maintenance re-read and re-decoded it
for every op or document (another ~18% of the server's time under the writer's rounds;
over a third of a many-document insert's, the webhook outbox's record), and no index
can be created or dropped in the middle of a write command.

Used only in the embedded server's process (``chat_project.patches.secantus``);
``chat_project/tests/test_secantus_planner.py`` states mongod's behaviour.
"""

from __future__ import annotations

import threading
from typing import Any

_command = threading.local()  # the catalog read during this thread's bulkWrite


def id_candidates(storage: Any, db: str, coll: str, filter: dict[str, Any]) -> list | None:
    """The record ids of an ``_id`` equality in ``filter`` (with other fields), or None
    when the original planning applies."""
    from secantus.storage import _id_point_lookup_keys

    if len(filter) < 2 or "_id" not in filter or any(str(k).startswith("$") for k in filter):
        return None
    if storage._is_timeseries(db, coll):
        return None
    id_keys = _id_point_lookup_keys(filter["_id"])
    if id_keys is None:
        return None
    recordids = [storage._doc_recordid(db, coll, key) for key in id_keys]
    return [r for r in recordids if r is not None]


def install(storage_class: type) -> None:
    original = storage_class._try_index_id_keys
    if getattr(original, "__wrapped__", None) is not None:
        return
    _install_catalog_memo(storage_class)

    def try_index_id_keys(self, db, coll, filter, *, collation=None):
        if filter and collation is None:
            found = id_candidates(self, db, coll, filter)
            if found is not None:
                return found
        return original(self, db, coll, filter, collation=collation)

    try_index_id_keys.__wrapped__ = original  # type: ignore[attr-defined]
    storage_class._try_index_id_keys = try_index_id_keys


# Write commands during which a collection's index catalog cannot change (no index is
# created or dropped in the middle of one): its catalog is read once per command.
ONE_CATALOG_COMMANDS = ("bulkWrite", "insert", "update", "delete")


def _install_catalog_memo(storage_class: type) -> None:
    from secantus import commands

    iter_indexes = storage_class._iter_indexes

    def iter_indexes_memo(self, db, coll):
        memo = getattr(_command, "catalog", None)
        if memo is None:
            return iter_indexes(self, db, coll)
        key = (id(self), db, coll)
        if key not in memo:
            memo[key] = list(iter_indexes(self, db, coll))
        return memo[key]

    def one_catalog(handler):
        def run(doc, ctx):
            if getattr(_command, "catalog", None) is not None:
                return handler(doc, ctx)
            _command.catalog = {}
            try:
                return handler(doc, ctx)
            finally:
                _command.catalog = None

        run.__wrapped__ = handler  # type: ignore[attr-defined]
        return run

    iter_indexes_memo.__wrapped__ = iter_indexes  # type: ignore[attr-defined]
    storage_class._iter_indexes = iter_indexes_memo
    for name in ONE_CATALOG_COMMANDS:
        commands._HANDLERS[name] = one_catalog(commands._HANDLERS[name])
