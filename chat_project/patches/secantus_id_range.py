"""SecantusDB: an ``_id`` range is served by the ``_id`` index.

mongod serves ``{_id: {$gte: A, $lt: B}}`` from the ``_id_`` index (an IXSCAN bounded
to ``[A, B)``; the manual: "MongoDB creates a unique index on the _id field during the
creation of a collection", and a range on an indexed field is an index bounds scan).
So reading "everything stored since T" by ``_id >= ObjectId.from_datetime(T)`` costs
what it returns. SecantusDB 0.7.0b3's ``_id`` index is virtual: its primary-key fast
path takes point lookups (``$eq``, ``$in``) only, and a range scans the whole
collection. Measured with 20,000 timeline rows: the webhook outbox's read of its last
3 s (370 rows) cost 366 ms of the server's one thread, the same as 3,000 rows, growing
with the collection (docs/benchmarks.md, "Webhooks: the outbox's cost").

The ``_id`` index does exist as a table (``secantus_natural_seq``: (db, collection,
``_id`` key) -> record id), and its keys sort as ``_id`` values do (the module's own
``$in`` path relies on it). The patch walks that table between the bounds when the
filter's ``_id`` is a range of ObjectIds and the original planning found no index:
the candidates are a superset of the matches (the caller applies the whole filter to
each, ``Storage._candidates_iter``'s contract), so what is returned is unchanged; only
the documents looked at are fewer.

Used only in the embedded server's process (``chat_project.patches.secantus``);
``chat_project/tests/test_secantus_id_range.py`` states mongod's behaviour.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

LOWER = ("$gt", "$gte")
UPPER = ("$lt", "$lte")


def id_range_bounds(filter: dict[str, Any]) -> tuple[ObjectId | None, ObjectId | None] | None:
    """(lowest, highest) of an ``_id`` range of ObjectIds in ``filter`` (either may be
    None: open), or None when the filter's ``_id`` is not such a range."""
    spec = filter.get("_id") if isinstance(filter, dict) else None
    if not isinstance(spec, dict) or not spec:
        return None
    if any(op not in LOWER + UPPER for op in spec):
        return None
    if not all(isinstance(value, ObjectId) for value in spec.values()):
        return None
    lows = [spec[op] for op in LOWER if op in spec]
    highs = [spec[op] for op in UPPER if op in spec]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def id_range_candidates(storage: Any, db: str, coll: str, filter: dict[str, Any]) -> list | None:
    """The record ids whose ``_id`` lies within the filter's ``_id`` range, in ``_id``
    order (bounds included: the caller's filter decides them), or None."""
    from secantus import storage as secantus_storage

    bounds = id_range_bounds(filter)
    if bounds is None or storage._is_timeseries(db, coll):
        return None
    low, high = bounds
    low_key = secantus_storage._id_key(low) if low is not None else b""
    high_key = secantus_storage._id_key(high) if high is not None else None
    cursor = storage._cursor(secantus_storage._NAT_SEQ_TABLE)
    cursor.reset()
    cursor.set_key(db, coll, low_key)
    found = cursor.search_near()
    if found == secantus_storage.wt.WT_NOTFOUND:
        return []
    if found < 0 and cursor.next() != 0:
        return []
    recordids: list[int] = []
    while True:
        key_db, key_coll, id_key = cursor.get_key()
        if (key_db, key_coll) != (db, coll):
            break
        if high_key is not None and bytes(id_key) > high_key:
            break
        recordids.append(int(cursor.get_value()))
        if cursor.next() != 0:
            break
    return recordids


def install(storage_class: type) -> None:
    original = storage_class._try_index_id_keys
    if getattr(original, "__id_range__", False):
        return

    def try_index_id_keys(self, db, coll, filter, *, collation=None):
        found = original(self, db, coll, filter, collation=collation)
        if found is None and filter and collation is None:
            return id_range_candidates(self, db, coll, filter)
        return found

    try_index_id_keys.__wrapped__ = original  # type: ignore[attr-defined]
    try_index_id_keys.__id_range__ = True  # type: ignore[attr-defined]
    storage_class._try_index_id_keys = try_index_id_keys
