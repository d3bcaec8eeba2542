"""``chat_project.patches.secantus_planner``: a filter with an ``_id`` equality and other
fields is a point lookup on ``_id`` (mongod's plan: IXSCAN of ``_id_`` bounded to one
key, then FETCH with the rest of the filter), with exactly the documents the unpatched
planning finds."""

from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo import MongoClient

from chat_project.dev import servers as devservers
from chat_project.patches import secantus_planner


@pytest.fixture(scope="module")
def collection():
    server = devservers.start_mongo(":memory:")  # the patched server
    coll = MongoClient(server.url).planner.rooms
    coll.create_index([("customer_id", 1), ("status", 1)])
    coll.create_index("open_key", unique=True, partialFilterExpression={"open_key": {"$gt": ""}})
    yield coll
    server.stop()


def test_an_id_with_other_conditions_matches_what_mongod_matches(collection):
    room, customer = ObjectId(), ObjectId()
    collection.insert_one({"_id": room, "last_seq": 4, "status": "active", "customer_id": customer})
    # The compare-and-set of the timeline writer: only the right seq, open, participant.
    cas = {"_id": room, "last_seq": 4, "status": {"$ne": "closed"}, "customer_id": customer}
    assert collection.update_one(cas, {"$set": {"last_seq": 5}}).modified_count == 1
    assert collection.update_one(cas, {"$set": {"last_seq": 6}}).matched_count == 0  # stale
    other = {**cas, "last_seq": 5, "customer_id": ObjectId()}
    assert collection.update_one(other, {"$set": {"last_seq": 6}}).matched_count == 0
    assert collection.find_one({"_id": {"$eq": room}, "status": "active"})["last_seq"] == 5
    assert list(collection.find({"_id": {"$in": [room, ObjectId()]}, "last_seq": 5})) != []
    assert collection.find_one({"_id": ObjectId(), "status": "active"}) is None


def test_the_patch_leaves_the_catalog_alone_for_such_a_filter(tmp_path):
    # In-process: the patched planner reads no index metadata for {_id, ...}.
    from secantus.storage import Storage

    storage = Storage(":memory:")
    try:
        storage.create_index("db", "c", "a_1", {"a": 1})
        storage.insert("db", "c", [{"_id": 1, "a": 2, "b": 3}])
        reads = []
        original = Storage._iter_indexes

        def counting(self, db, coll):
            reads.append(coll)
            return original(self, db, coll)

        Storage._iter_indexes = counting
        try:
            found = storage._try_index_id_keys("db", "c", {"_id": 1, "b": 3})
            unpatched_reads = len(reads)
            reads.clear()
            assert secantus_planner.id_candidates(storage, "db", "c", {"_id": 1, "b": 3}) == found
            assert reads == []
        finally:
            Storage._iter_indexes = original
        assert unpatched_reads > 0  # what the patch saves: the pickers' catalog reads
    finally:
        storage.close()


def test_what_the_patch_relies_on_in_secantus():
    # A contract with SecantusDB 0.7.0b3's internals (pinned exactly).
    from secantus import storage

    assert storage._id_point_lookup_keys(5) is not None
    assert storage._id_point_lookup_keys({"$gt": 5}) is None
    for name in ("_try_index_id_keys", "_doc_recordid", "_is_timeseries", "_iter_indexes"):
        assert callable(getattr(storage.Storage, name))


def test_a_write_command_reads_each_collections_catalog_once(monkeypatch):
    # In-process, restored afterwards: a server whose storage counts its catalog reads.
    from secantus import commands
    from secantus.server import SecantusDBServer
    from secantus.storage import Storage

    reads: list[str] = []
    original = Storage._iter_indexes

    def counting(self, db, coll):
        reads.append(coll)
        return original(self, db, coll)

    monkeypatch.setattr(Storage, "_iter_indexes", counting)
    for name in secantus_planner.ONE_CATALOG_COMMANDS:
        monkeypatch.setitem(commands._HANDLERS, name, commands._HANDLERS[name])
    secantus_planner._install_catalog_memo(Storage)
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        client = MongoClient(f"mongodb://127.0.0.1:{server.port}/?directConnection=true")
        rows = client.t.rows
        rows.create_index([("room_id", 1), ("seq", 1)], unique=True)
        rows.create_index([("status", 1)])
        reads.clear()
        rows.insert_many([{"room_id": 1, "seq": n, "status": "s"} for n in range(50)])
        insert_reads = reads.count("rows")
        reads.clear()
        rows.update_many({"room_id": 1}, {"$set": {"status": "t"}})
        update_reads = reads.count("rows")
        assert rows.count_documents({"status": "t"}) == 50
    finally:
        server.stop()
    assert 0 < insert_reads <= 3  # once per command, not once per document (50)
    assert 0 < update_reads <= 3
