"""chat_project.patches.secantus_indexes: an update touches only the indexes it can change
(mongod's documented cost model: "an update operation may result in updates to a
subset of indexes on the collection, depending on the keys affected by the update",
docs/manual/core/write-performance), with every index still exact afterwards."""

from __future__ import annotations

import pytest
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from chat_project.dev import servers as devservers
from chat_project.patches import secantus_indexes


@pytest.fixture(scope="module")
def mongo():
    server = devservers.start_mongo(":memory:")  # a child with the patch installed
    yield server
    server.stop()


def test_written_paths_of_field_operators_only():
    assert secantus_indexes.written_paths({"$set": {"a": 1, "b.c": 2}, "$max": {"d": 3}}) == {
        "a",
        "b.c",
        "d",
    }
    assert secantus_indexes.written_paths({"$set": {"arr.$.x": 1}}) == {"arr"}
    for update in ({"a": 1}, [{"$set": {"a": 1}}], {"$push": {"a": 1}}, {"$rename": {"a": "b"}}):
        assert secantus_indexes.written_paths(update) is None


@pytest.mark.parametrize(
    ("key_spec", "partial", "written", "expected"),
    [
        ({"status": 1, "queued_at": 1}, None, {"last_seq"}, False),
        ({"status": 1, "queued_at": 1}, None, {"status"}, True),
        ({"watermarks.u1.read": 1}, None, {"watermarks.u1.read"}, True),
        ({"watermarks": 1}, None, {"watermarks.u1.read"}, True),
        ({"a.b": 1}, None, {"a"}, True),
        ({"open_key": 1}, {"open_key": {"$type": "objectId"}}, {"last_seq"}, False),
        ({"x": 1}, {"status": "open"}, {"status"}, True),
        ({"x": 1}, {"$or": [{"y": 1}, {"z": 2}]}, {"z"}, True),
        ({"x": 1}, {"$expr": {"$gt": ["$y", 1]}}, {"q"}, True),  # not understood: kept
        ({"body": "text"}, None, {"other"}, True),
        ({"$**": 1}, None, {"anything"}, True),
    ],
)
def test_which_indexes_an_update_can_change(key_spec, partial, written, expected):
    assert secantus_indexes.index_may_change(key_spec, partial, written) is expected


def test_every_index_stays_exact_across_updates_that_skip_it(mongo):
    rooms = MongoClient(mongo.url).compat.rooms
    rooms.create_index([("status", 1), ("queued_at", 1)], name="status_queued")
    rooms.create_index(
        [("open_key", 1)],
        name="open_key",
        unique=True,
        partialFilterExpression={"open_key": {"$type": "string"}},
    )
    rooms.create_index([("tags", 1)], name="tags")
    rooms.insert_many(
        [
            {"_id": i, "status": "queued", "queued_at": i, "open_key": f"c{i}", "tags": ["a"]}
            for i in range(5)
        ]
    )
    for i in range(5):  # not indexed: the indexes are left as they are
        rooms.update_one({"_id": i}, {"$set": {"last_seq": 10 + i}, "$max": {"w.u": i}})
    rooms.update_one({"_id": 1}, {"$set": {"status": "active", "open_key": None}})
    rooms.update_one({"_id": 2}, {"$set": {"tags": ["b", "c"]}})

    def ids(query, hint):
        return sorted(doc["_id"] for doc in rooms.find(query).hint(hint))

    assert ids({"status": "queued"}, "status_queued") == [0, 2, 3, 4]
    assert ids({"status": "active"}, "status_queued") == [1]
    assert ids({"open_key": {"$type": "string"}}, "open_key") == [0, 2, 3, 4]
    assert ids({"tags": "a"}, "tags") == [0, 1, 3, 4]
    assert ids({"tags": "c"}, "tags") == [2]
    assert rooms.find_one({"_id": 3})["last_seq"] == 13
    # Unique entries skipped by the updates above still hold their keys ...
    with pytest.raises(DuplicateKeyError):
        rooms.insert_one({"_id": 9, "open_key": "c3"})
    # ... and the one given up by the update that did touch the index is free.
    rooms.insert_one({"_id": 10, "open_key": "c1"})


def test_an_unindexed_update_rewrites_no_index_entry():
    from secantus import SecantusDBServer
    from secantus.storage import Storage

    secantus_indexes.install(Storage)
    rewritten: list[list[str]] = []
    original = Storage._delete_index_entries

    def spy(self, db, coll, doc, indexes, *args, **kwargs):
        if coll == "rooms":
            rewritten.append([name for name, *_ in indexes])
        return original(self, db, coll, doc, indexes, *args, **kwargs)

    Storage._delete_index_entries = spy
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        rooms = MongoClient(f"mongodb://127.0.0.1:{server.port}/?directConnection=true").t.rooms
        rooms.create_index([("status", 1)], name="status")
        rooms.create_index([("agent_id", 1), ("status", 1)], name="agent_status")
        rooms.insert_one({"_id": 1, "status": "queued", "last_seq": 0})
        rooms.update_one({"_id": 1}, {"$set": {"last_seq": 1}})
        rooms.update_one({"_id": 1}, {"$set": {"agent_id": 7}})
        rooms.update_one({"_id": 1}, [{"$set": {"last_seq": 2}}])  # a pipeline: all
    finally:
        server.stop()
        Storage._delete_index_entries = original
    assert [set(names) for names in rewritten] == [
        set(),
        {"agent_status"},
        {"status", "agent_status"},
    ]
