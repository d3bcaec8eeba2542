"""How long a durable round takes on the embedded database alone: no gateway, no Redis.

Starts SecantusDB as the project does (``chat_project.dev.servers.start_mongo``, with its
patches) on a fresh folder on disk, then sends one ordered ``bulkWrite`` after another
at Poisson arrivals: a conditional seq update of a room and the insert of its event,
with ``w: majority, j: true``, the shape of a timeline writer's round of one message.
Each round waits for a journal flush, so the tail is the disk's:

    .venv/bin/python bench/journal_flush.py [--seconds 200] [--rate 100]

Prints the rounds' p50 / p99 / p99.9 / max in ms and every round over 50 ms with the
second it started at (a WiredTiger checkpoint runs every 60 s), and the database's
own slow-flush log lines (``journal flush took N ms``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SLOW_MS = 50
ROOMS = 200


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/journal_flush.py")
    parser.add_argument("--seconds", type=float, default=200)
    parser.add_argument("--rate", type=float, default=100, help="rounds per second")
    args = parser.parse_args()

    from pymongo import InsertOne, MongoClient, UpdateOne
    from pymongo.write_concern import WriteConcern

    from chat_project.dev.servers import start_mongo

    folder = Path(tempfile.mkdtemp(prefix="journal-flush-", dir=str(Path.home())))
    log = folder / "secantusdb.log"
    server = start_mongo(str(folder / "data"), log_path=log)
    try:
        client = MongoClient(server.url)
        durable = WriteConcern(w="majority", j=True)
        db = client.get_database("journal_flush", write_concern=durable)
        rooms, events = db.rooms, db.events
        events.create_index([("room_id", 1), ("seq", 1)], unique=True)
        rooms.insert_many([{"_id": room, "last_seq": 0} for room in range(ROOMS)])
        seqs = [0] * ROOMS
        took: list[float] = []
        slow: list[tuple[float, float]] = []
        body = "x" * 200
        start = time.monotonic()
        due = start
        while time.monotonic() - start < args.seconds:
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            due += random.expovariate(args.rate)
            room = random.randrange(ROOMS)
            seq = seqs[room] + 1
            began = time.monotonic()
            rooms.bulk_write(
                [
                    UpdateOne({"_id": room, "last_seq": seq - 1}, {"$set": {"last_seq": seq}}),
                    InsertOne({"room_id": room, "seq": seq, "body": body}),
                ],
                ordered=True,
            )
            ms = (time.monotonic() - began) * 1000
            seqs[room] = seq
            took.append(ms)
            if ms > SLOW_MS:
                slow.append((round(began - start, 1), round(ms)))
        took.sort()
        print(
            f"rounds={len(took)} in {args.seconds:.0f} s at {args.rate:g}/s: "
            f"p50={percentile(took, 0.5):.1f} p99={percentile(took, 0.99):.1f} "
            f"p99.9={percentile(took, 0.999):.1f} max={took[-1]:.1f} ms; "
            f"over {SLOW_MS} ms (second, ms): {slow}"
        )
        flushes = [line for line in log.read_text().splitlines() if "journal flush took" in line]
        print(f"slow journal flushes logged by the database: {len(flushes)}")
        for line in flushes:
            print(f"  {line}")
        client.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
