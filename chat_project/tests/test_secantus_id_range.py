"""``chat_project.patches.secantus_id_range``: an ``_id`` range of ObjectIds is served by
the ``_id`` index, as mongod serves it (an IXSCAN of ``_id_`` between the bounds), with
exactly the documents a collection scan finds, including mongod's type bracketing (an
ObjectId range matches ObjectIds only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo import MongoClient

from chat_project.dev import servers as devservers
from chat_project.patches import secantus_id_range

BASE = datetime(2026, 12, 7, tzinfo=UTC)


def oid(second: int) -> ObjectId:
    return ObjectId.from_datetime(BASE + timedelta(seconds=second))


@pytest.fixture(scope="module")
def collection():
    server = devservers.start_mongo(":memory:")  # the patched server
    db = MongoClient(server.url).idrange
    coll = db.rows
    coll.create_index([("room_id", 1), ("seq", 1)])
    ids = [ObjectId(oid(s).binary[:4] + ObjectId().binary[4:]) for s in range(0, 100, 2)]
    coll.insert_many([{"_id": i, "n": n, "room_id": n % 3, "seq": n} for n, i in enumerate(ids)])
    # Other _id types, and neighbouring collections, must stay out of an ObjectId range.
    coll.insert_many([{"_id": 7, "n": -1}, {"_id": "x", "n": -2}, {"_id": BASE, "n": -3}])
    db.rows2.insert_many([{"_id": oid(s), "n": 1000 + s} for s in range(0, 100, 10)])
    db.row.insert_many([{"_id": oid(s), "n": 2000 + s} for s in range(0, 100, 10)])
    yield coll
    server.stop()


FILTERS = [
    {"_id": {"$gte": oid(30)}},
    {"_id": {"$gt": oid(30)}},
    {"_id": {"$lt": oid(30)}},
    {"_id": {"$lte": oid(30)}},
    {"_id": {"$gte": oid(10), "$lt": oid(21)}},
    {"_id": {"$gt": oid(10), "$lte": oid(20), "$gte": oid(4)}},
    {"_id": {"$gte": oid(200)}},
    {"_id": {"$lt": oid(0)}},
    {"_id": {"$gte": oid(10)}, "n": {"$lt": 20}},
    {"_id": {"$gte": oid(10)}, "room_id": 1, "seq": {"$gt": 3}},
]


@pytest.mark.parametrize("query", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_an_id_range_finds_what_a_collection_scan_finds(collection, query):
    scanned = [d["n"] for d in collection.find(query).hint({"$natural": 1})]
    served = [d["n"] for d in collection.find(query)]
    assert sorted(served) == sorted(scanned)
    assert all(n >= 0 for n in served)  # only ObjectIds: mongod's type bracketing
    pipeline = [{"$match": query}, {"$project": {"n": 1}}]
    assert sorted(d["n"] for d in collection.aggregate(pipeline)) == sorted(scanned)


def test_updates_and_deletes_by_an_id_range_touch_only_the_range(collection):
    query = {"_id": {"$gte": oid(60), "$lt": oid(70)}}
    expected = collection.count_documents(query, hint={"$natural": 1})
    assert collection.update_many(query, {"$set": {"marked": True}}).modified_count == expected
    assert collection.count_documents({"marked": True}) == expected
    assert collection.delete_many({**query, "marked": True}).deleted_count == expected
    assert collection.count_documents(query) == 0


def test_the_walk_looks_only_between_the_bounds():
    # In-process: the candidates are the range's records, in _id order, not the collection.
    from secantus.storage import Storage

    storage = Storage(":memory:")
    try:
        docs = [{"_id": oid(s), "s": s} for s in range(10)]
        storage.insert("db", "c", [*docs, {"_id": 5, "s": -1}])
        storage.insert("db", "d", [{"_id": oid(s)} for s in range(10)])
        everything = storage._try_index_id_keys("db", "c", {"s": {"$gte": 0}})  # unpatched: None
        assert everything is None
        query = {"_id": {"$gte": oid(3), "$lt": oid(6)}}
        found = secantus_id_range.id_range_candidates(storage, "db", "c", query)
        seconds = [doc["s"] for doc in storage._docs_by_recordids("db", "c", found)]
        assert sorted(seconds) == [3, 4, 5, 6]  # the upper bound: the caller's filter decides
        candidates = secantus_id_range.id_range_candidates
        assert candidates(storage, "db", "c", {"_id": 5}) is None
        assert candidates(storage, "db", "c", {"_id": {"$gte": 5}}) is None
    finally:
        storage.close()


def test_what_the_patch_relies_on_in_secantus():
    # A contract with SecantusDB 0.7.0b3's internals (pinned exactly).
    from secantus import storage

    assert storage._id_point_lookup_keys({"$gte": ObjectId()}) is None  # no range fast path
    assert storage._id_key(oid(1)) < storage._id_key(oid(2))  # keys sort as _ids do
    assert storage._NAT_SEQ_TABLE == "table:secantus_natural_seq"
    for name in ("_try_index_id_keys", "_cursor", "_is_timeseries", "_docs_by_recordids"):
        assert callable(getattr(storage.Storage, name))
