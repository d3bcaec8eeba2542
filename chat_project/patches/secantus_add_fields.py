"""SecantusDB: ``$addFields`` with an embedded document merges into the existing one.

mongod documents that ``{$addFields: {a: {c: 2}}}`` on ``{a: {b: 1}}`` yields
``{a: {b: 1, c: 2}}`` ("Adding Fields to an Embedded Document"): a literal sub-document
adds fields to the existing one. SecantusDB 0.7.0b3 replaces ``a`` instead, which loses
the related ``_id`` that django-mongodb-backend's ``select_related()`` puts there (the
admin's user form breaks on ``Permission.objects.select_related("content_type")``).
``chat_project/tests/test_devservers.py`` states mongod's behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_nested_add_fields(add_fields_one):
    """mongod semantics for ``$addFields`` with an embedded-document value.

    mongod documents that ``{$addFields: {a: {c: 2}}}`` on ``{a: {b: 1}}`` yields
    ``{a: {b: 1, c: 2}}``: a literal sub-document adds fields to the existing one.
    SecantusDB 0.7.0b3 replaces ``a`` instead, which loses the related ``_id`` that
    django-mongodb-backend's ``select_related()`` puts there (the admin's user form
    breaks on ``Permission.objects.select_related("content_type")``).
    """

    def is_field_spec(value: Any) -> bool:
        return (
            isinstance(value, Mapping)
            and bool(value)
            and not any(str(key).startswith("$") for key in value)
        )

    def flatten(prefix: str, spec: Mapping[str, Any], current: Any, out: dict[str, Any]) -> None:
        for key, value in spec.items():
            path = f"{prefix}.{key}"
            inner = current.get(key) if isinstance(current, Mapping) else None
            if is_field_spec(value) and isinstance(inner, Mapping):
                flatten(path, value, inner, out)
            else:
                out[path] = value

    def patched(doc: dict[str, Any], spec: Mapping[str, Any], vars: dict[str, Any]):
        expanded: dict[str, Any] = {}
        for path, value in spec.items():
            current = doc.get(path) if "." not in path else None
            if is_field_spec(value) and isinstance(current, Mapping):
                flatten(path, value, current, expanded)
            else:
                expanded[path] = value
        return add_fields_one(doc, expanded, vars)

    return patched


def install() -> None:
    from secantus import aggregate

    if getattr(aggregate._add_fields_one, "__wrapped__", None) is None:
        original = aggregate._add_fields_one
        aggregate._add_fields_one = merge_nested_add_fields(original)
        aggregate._add_fields_one.__wrapped__ = original
