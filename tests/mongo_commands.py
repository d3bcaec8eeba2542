"""Counting the database commands a piece of code sends, at the pymongo level (the
ORM's query counter does not see raw collection calls), in every thread (the timeline
writer sends from its own). For tests that pin the command count of hot paths."""

from __future__ import annotations

import contextlib

from pymongo.synchronous.collection import Collection
from pymongo.synchronous.mongo_client import MongoClient

_METHODS = (
    "aggregate",
    "find",
    "find_one",
    "count_documents",
    "estimated_document_count",
    "distinct",
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "bulk_write",
)


@contextlib.contextmanager
def mongo_commands(monkeypatch):
    calls: list[tuple[str, str]] = []

    def counting(name, original):
        def wrapper(self, *args, **kwargs):
            calls.append((self.name, name))
            return original(self, *args, **kwargs)

        return wrapper

    def counting_client(original):
        # The client-level bulkWrite (the timeline writer's round): named by the
        # collections it writes, e.g. ("chat_room+chat_roomevent", "bulk_write").
        def wrapper(self, models, *args, **kwargs):
            touched = sorted({model._namespace.split(".", 1)[1] for model in models})
            calls.append(("+".join(touched), "bulk_write"))
            return original(self, models, *args, **kwargs)

        return wrapper

    with monkeypatch.context() as patch:
        for name in _METHODS:
            patch.setattr(Collection, name, counting(name, getattr(Collection, name)))
        patch.setattr(MongoClient, "bulk_write", counting_client(MongoClient.bulk_write))
        yield calls
