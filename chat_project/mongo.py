"""Raw MongoDB access: the one collection accessor, and the query shape every hot read
must have, stated once.

**The rule.** The first ``$match`` of a hot read (or a ``find`` filter) is FLAT and
INDEX-SHAPED: equalities on the leading fields of one index, then at most one
condition that is not an equality (a range, ``$in``, ``$ne``...) on the next field of that
index; no top-level ``$and``/``$or``/``$expr``. Everything else (more conditions, sorts
on other fields, ``$or``) goes in later stages, which narrow what the index found.

Why: mongod plans any filter well, but the embedded SecantusDB 0.7 serves a read from an
index only in that shape and scans the whole collection otherwise (measured at 20,000
documents: ~100x). Django's ORM wraps every filter of two or more conditions in a
top-level ``$and`` (which SecantusDB never serves from an index), so hot reads are
written as raw pipelines (``Model.objects.raw_aggregate``) in each app's raw-query
module (``chat/timeline.py``, ``accounts/queries.py``, ``agents/queries.py``,
``adminstats/queries.py``), built with :func:`index_match`. Shapes that exist: the
``_id`` lookup; ``(room_id, seq)`` for a room's timeline; ``(room_id, search_terms, seq)``
for search; ``idem_key``; ``(customer_id, status)``, ``(agent_id, status)``,
``(status, queued_at)``, for one team's queue ``(status, team_id, queued_at)`` and
``(tags, agent_id)`` for rooms, and for the timers (issue 30) ``(status,
first_agent_reply_at, assigned_at)`` and ``(status, created_at)`` for rooms and
``(emailed_at, created_at)`` for offline messages; ``(role, ...)`` for users;
``(action, at)`` for the routing audit log. Tests pin the first ``$match`` of each hot
read against the real indexes (``chat/tests/test_query_shapes.py``). Writes that must
be atomic name ``_id`` in their filter (``chat.writer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId
from django.db import connections
from django.db.models import Model
from pymongo.collection import Collection


def collection(model: type[Model]) -> Collection:
    """The raw collection of ``model`` on the default database."""
    return connections["default"].get_collection(model._meta.db_table)


def document_of(instance: Model) -> dict[str, Any]:
    """The document ``instance.save(force_insert=True)`` would store (each field's own
    ``pre_save`` and ``get_db_prep_save``), for a raw or bulk insert; its ``_id`` is
    chosen here when it has none (and set on ``instance``) so that it is known before the
    insert."""
    connection = connections["default"]
    if instance.pk is None:
        instance.pk = ObjectId()
    doc = {
        field.column: field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in type(instance)._meta.concrete_fields
        if not field.primary_key
    }
    doc["_id"] = instance.pk
    return doc


def delete_in_chunks(collection: Collection, match: Mapping[str, Any], chunk: int = 1000) -> int:
    """Delete what ``match`` finds, ``chunk`` documents a command (one delete of a long
    backlog outlasts the database timeout, and holds the embedded server for seconds);
    returns how many."""
    deleted = 0
    while ids := [doc["_id"] for doc in collection.find(match, {"_id": 1}).limit(chunk)]:
        deleted += collection.delete_many({"_id": {"$in": ids}}).deleted_count
    return deleted


def _is_equality(value: Any) -> bool:
    return not (isinstance(value, Mapping) and any(str(k).startswith("$") for k in value))


def index_match(
    equal: Mapping[str, Any], last: tuple[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """A first ``$match`` in the rule's shape: ``equal`` (field: value, in the index's
    order), then optionally ``last`` = (field, condition) on the next field. Raises
    ``ValueError`` for anything else, so a hot read cannot drift into a scan."""
    match: dict[str, Any] = {}
    for field, value in equal.items():
        if field.startswith("$") or not _is_equality(value):
            raise ValueError(f"{field!r} is not an equality: {value!r}")
        match[field] = value
    if last is not None:
        field, condition = last
        if field.startswith("$") or field in match:
            raise ValueError(f"{field!r} cannot be the last condition")
        match[field] = condition
    return match


def served_by(match: Mapping[str, Any], index: Sequence[str]) -> bool:
    """Whether ``match`` has the rule's shape for an index on the fields ``index``: its
    equalities are the index's leading fields (in any order) and at most one other
    condition is on the field right after them."""
    if any(str(f).startswith("$") for f in match):
        return False
    equal = {f for f, v in match.items() if _is_equality(v)}
    other = [f for f in match if f not in equal]
    if len(other) > 1 or equal != set(index[: len(equal)]):
        return False
    return not other or (len(index) > len(equal) and index[len(equal)] == other[0])
