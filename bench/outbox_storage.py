"""What the webhook outbox's storage costs the embedded database (issue 30), measured as
the database process's CPU time on a fresh embedded SecantusDB (the project's patched
server, ``chat_project.dev.servers``). Prints figures; asserts nothing.

    .venv/bin/python bench/outbox_storage.py inserts   # recording 3,000 messages x 10 endpoints
    .venv/bin/python bench/outbox_storage.py reads     # "rows stored since T" and the cursors

``inserts``: one document per delivery (the shape ``integrations.models.WebhookDelivery``
stores) under several index sets, against one document per timeline row holding every
endpoint's state. ``reads``: an ``_id`` range over a 20,000-row timeline (300 and 3,000
rows), full and projected, against per-room ``(room_id, seq)`` reads; and the cursors'
``$max`` updates by ``room_id`` and by ``_id``. Results: docs/benchmarks.md, "Webhooks:
the outbox's cost".
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from bson import ObjectId
from pymongo import MongoClient, UpdateOne

from chat_project.dev.servers import start_mongo

MESSAGES = 3000
ENDPOINTS = 10
ROOMS = 100


def _payload() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "message.created",
        "created_at": "2026-12-07T15:00:00Z",
        "room_id": str(ObjectId()),
        "seq": 5,
        "data": {
            "message": {
                "id": str(ObjectId()),
                "seq": 5,
                "sender": {"id": str(ObjectId()), "username": "cust12", "role": "user"},
                "content": "hello there " * 5,
                "type": "text",
                "attachments": [],
                "created_at": "2026-12-07T15:00:00Z",
                "edited_at": None,
                "deleted": False,
            }
        },
    }


PAYLOAD = _payload()


def delivery(endpoint: ObjectId, room: ObjectId, seq: int) -> dict:
    now = datetime.now(UTC)
    return {
        "_id": ObjectId(),
        "endpoint_id": endpoint,
        "delivery_id": uuid.uuid4(),
        "room_id": room,
        "seq": seq,
        "kind": "message.created",
        "payload": PAYLOAD,
        "status": "delivered",
        "attempts": 1,
        "queued_at": now,
        "next_attempt_at": now,
        "last_attempt_at": now,
        "last_status_code": 200,
        "last_error": "",
        "delivered_at": now,
        "lease_until": None,
        "lease_token": "",
        "created_at": now,
        "updated_at": now,
    }


def row_record(endpoints: list[ObjectId], room: ObjectId, seq: int) -> dict:
    now = datetime.now(UTC)
    targets = {
        str(e): {
            "delivery_id": uuid.uuid4(),
            "status": "delivered",
            "attempts": 1,
            "last_status_code": 200,
            "last_attempt_at": now,
            "delivered_at": now,
            "next_attempt_at": now,
        }
        for e in endpoints
    }
    return {
        "_id": ObjectId(),
        "room_id": room,
        "seq": seq,
        "kind": "message.created",
        "payloads": {"customer": PAYLOAD["data"], "staff": PAYLOAD["data"]},
        "targets": targets,
        "due_at": now,
        "created_at": now,
    }


class Database:
    def __init__(self) -> None:
        self.server = start_mongo(tempfile.mkdtemp(prefix="outbox-bench-"))
        client = MongoClient(self.server.url, uuidRepresentation="standard")
        self.db = client.outbox_bench
        self.process = psutil.Process(self.server.process.pid)

    def cpu(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.server.stop()


def inserts(database: Database) -> None:
    unique = ([("endpoint_id", 1), ("room_id", 1), ("seq", 1), ("kind", 1)], {"unique": True})
    due = ([("status", 1), ("next_attempt_at", 1)], {})
    plain = ([("endpoint_id", 1), ("room_id", 1), ("seq", 1)], {})
    per_delivery = lambda endpoints, room, seq: [delivery(e, room, seq) for e in endpoints]  # noqa: E731
    per_row = lambda endpoints, room, seq: [row_record(endpoints, room, seq)]  # noqa: E731
    row_indexes = [([("room_id", 1), ("seq", 1), ("kind", 1)], {"unique": True}), due]
    cases = [
        (
            "per delivery: unique (endpoint, room, seq, kind) + (status, next_attempt_at)",
            per_delivery,
            [unique, due],
        ),
        (
            "per delivery: (endpoint, room, seq) + (status, next_attempt_at)",
            per_delivery,
            [plain, due],
        ),
        ("per delivery: unique (endpoint, room, seq, kind) alone", per_delivery, [unique]),
        ("per delivery: (status, next_attempt_at) alone", per_delivery, [due]),
        ("per delivery: no secondary index", per_delivery, []),
        ("per timeline row, ten endpoints' states in it", per_row, row_indexes),
    ]
    endpoints = [ObjectId() for _ in range(ENDPOINTS)]
    rooms = [ObjectId() for _ in range(ROOMS)]
    for number, (name, make, indexes) in enumerate(cases):
        collection = database.db[f"case{number}"]
        for keys, options in indexes:
            collection.create_index(keys, **options)
        pending: list[dict] = []
        before, started = database.cpu(), time.monotonic()
        for seq in range(MESSAGES):
            pending.extend(make(endpoints, rooms[seq % ROOMS], seq))
            while len(pending) >= 25:  # the outbox's WRITE_CHUNK
                collection.insert_many(pending[:25], ordered=True)
                pending = pending[25:]
        if pending:
            collection.insert_many(pending, ordered=True)
        cpu = database.cpu() - before
        print(
            f"{name}: database CPU {cpu / MESSAGES * 1000:.3f} ms per message "
            f"({time.monotonic() - started:.1f} s for {MESSAGES})",
            flush=True,
        )


def _measure(database: Database, name: str, call: Callable[[], int], repeat: int = 5) -> None:
    before, started = database.cpu(), time.monotonic()
    for _ in range(repeat):
        found = call()
    cpu = (database.cpu() - before) / repeat * 1000
    wall = (time.monotonic() - started) / repeat * 1000
    print(f"{name}: {cpu:.1f} ms database CPU, {wall:.1f} ms wall, {found} documents", flush=True)


def reads(database: Database) -> None:
    rows = database.db.rows
    rows.create_index([("room_id", 1), ("seq", 1)], unique=True)
    rooms = [ObjectId() for _ in range(ROOMS)]
    base = datetime.now(UTC) - timedelta(seconds=200)
    documents = []
    for n in range(20000):
        at = base + timedelta(milliseconds=10 * n)
        documents.append(
            {
                "_id": ObjectId(ObjectId.from_datetime(at).binary[:4] + ObjectId().binary[4:]),
                "room_id": rooms[n % ROOMS],
                "seq": n // ROOMS + 1,
                "kind": "message",
                "data": {"content": "hello there " * 6, "type": "text", "attachments": []},
                "created_at": at,
            }
        )
    for start in range(0, len(documents), 1000):
        rows.insert_many(documents[start : start + 1000])
    last_3000 = ObjectId.from_datetime(base + timedelta(milliseconds=10 * 17000))
    last_300 = ObjectId.from_datetime(base + timedelta(milliseconds=10 * 19700))
    since = lambda low: {"_id": {"$gte": low}}  # noqa: E731
    _measure(database, "_id range, 3,000 rows", lambda: len(list(rows.find(since(last_3000)))))
    _measure(
        database,
        "_id range, 3,000 rows, (room_id, seq) only",
        lambda: len(list(rows.find(since(last_3000), {"room_id": 1, "seq": 1}))),
    )
    _measure(database, "_id range, 300 rows", lambda: len(list(rows.find(since(last_300)))))
    _measure(
        database,
        "(room_id, seq) range in each of 100 rooms, 300 rows",
        lambda: sum(len(list(rows.find({"room_id": room, "seq": {"$gt": 197}}))) for room in rooms),
        repeat=2,
    )
    by_room, by_id = database.db.cursors_by_room, database.db.cursors_by_id
    by_room.create_index("room_id", unique=True)
    all_rooms = [ObjectId() for _ in range(3000)]
    by_room.insert_many([{"room_id": room, "seqs": {}} for room in all_rooms])
    by_id.insert_many([{"_id": room, "seqs": {}} for room in all_rooms])
    seqs = {f"seqs.{ObjectId()}": 5 for _ in range(ENDPOINTS)}

    def move(collection, field: str) -> int:
        ops = [UpdateOne({field: room}, {"$max": seqs}, upsert=True) for room in all_rooms[:100]]
        collection.bulk_write(ops, ordered=False)
        return 100

    _measure(database, "cursors: 100 rooms' $max by room_id", lambda: move(by_room, "room_id"), 3)
    _measure(database, "cursors: 100 rooms' $max by _id", lambda: move(by_id, "_id"), 3)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "inserts"
    if what not in ("inserts", "reads"):
        raise SystemExit(__doc__)
    database = Database()
    try:
        (inserts if what == "inserts" else reads)(database)
    finally:
        database.stop()
