"""SecantusDB: an update maintains only the indexes whose entries it can change.

mongod documents that "an update operation may result in updates to a subset of
indexes on the collection, depending on the keys affected by the update"
(docs/manual/core/write-performance). SecantusDB 0.7 instead deletes and rewrites the
entries of EVERY index (and re-probes every unique one) on each modifying update, so
an update of one unindexed field of a room (its ``last_seq``, a receipt watermark)
costs twice what it costs with no secondary index (``docs/benchmarks.md``): the seq of
every message and every receipt pay for the room's four indexes.

The patch narrows the index list that ``Storage._update_matching_single_txn`` works
with to the indexes an update can affect: those whose key fields, or the fields of
whose partial filter, overlap a path the update writes. It only applies to updates
made of field operators (``$set``, ``$max``, ...) and never to upserts, pipelines or
replacements (all indexes, as before). The result is the same documents and the same
index entries; only untouched entries are no longer deleted and rewritten. Used only
by :mod:`chat_project.dev.servers` (the embedded server's process); production runs
mongod.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

# Operators whose argument is {path: value}, each writing exactly those paths.
_FIELD_OPERATORS = frozenset(
    {"$set", "$unset", "$inc", "$mul", "$min", "$max", "$currentDate", "$setOnInsert"}
)
_UPDATE_BODY = "_update_matching_single_txn"


def written_paths(update: Any) -> set[str] | None:
    """The field paths an operator update writes, or None when that cannot be said
    simply (a pipeline, a replacement, array or rename operators): all indexes."""
    if not isinstance(update, Mapping) or not update:
        return None
    paths: set[str] = set()
    for operator, spec in update.items():
        if operator not in _FIELD_OPERATORS or not isinstance(spec, Mapping):
            return None
        for path in spec:
            # "a.$.b" / "a.$[x].b": the array at "a" is what changes.
            paths.add(str(path).split(".$")[0])
    return paths


def _overlaps(path: str, written: Iterable[str]) -> bool:
    return any(path == w or path.startswith(w + ".") or w.startswith(path + ".") for w in written)


def _filter_fields(expression: Any) -> set[str] | None:
    """Field paths a partial filter reads; None when its shape is not understood."""
    if not isinstance(expression, Mapping):
        return None
    fields: set[str] = set()
    for key, value in expression.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list):
                return None
            for clause in value:
                inner = _filter_fields(clause)
                if inner is None:
                    return None
                fields |= inner
        elif str(key).startswith("$"):
            return None
        else:
            fields.add(str(key))
    return fields


def index_may_change(
    key_spec: Mapping[str, Any], partial_filter: Mapping[str, Any] | None, written: set[str]
) -> bool:
    """Whether writing ``written`` can change a document's entry in this index."""
    for field, kind in key_spec.items():
        # Text, geo, hashed and wildcard indexes read more than their key names say.
        if "$**" in str(field) or isinstance(kind, bool) or not isinstance(kind, int | float):
            return True
        if _overlaps(str(field), written):
            return True
    if partial_filter is not None:
        fields = _filter_fields(partial_filter)
        if fields is None or any(_overlaps(f, written) for f in fields):
            return True
    return False


def install(storage_class: type) -> None:
    """Patch ``storage_class`` (secantus.storage.Storage) in this process."""
    if getattr(storage_class, "_chat_indexes_patched", False):
        return
    update_body = getattr(storage_class, _UPDATE_BODY)
    all_indexes = storage_class._all_indexes
    local = threading.local()

    def narrowed_all_indexes(self: Any, db: str, coll: str) -> list[tuple[Any, ...]]:
        indexes = all_indexes(self, db, coll)
        written = getattr(local, "written", None)
        # Only the update body's own list: its candidate scan plans with all indexes.
        if written is None or sys._getframe(1).f_code.co_name != _UPDATE_BODY:
            return indexes
        partials = self._partial_filters(db, coll)
        return [ix for ix in indexes if index_may_change(ix[1], partials.get(ix[0]), written)]

    def update_with_narrowed_indexes(
        self: Any, db: str, coll: str, filter: Any, update: Any, **kwargs: Any
    ) -> Any:
        outer = getattr(local, "written", None)
        local.written = None if kwargs.get("upsert") else written_paths(update)
        try:
            return update_body(self, db, coll, filter, update, **kwargs)
        finally:
            local.written = outer

    storage_class._all_indexes = narrowed_all_indexes
    setattr(storage_class, _UPDATE_BODY, update_with_narrowed_indexes)
    storage_class._chat_indexes_patched = True
