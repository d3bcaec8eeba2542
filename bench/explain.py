"""Print the database's plan for the product's own search query in one room:

    python bench/explain.py ROOM_ID WORD

It calls ``chat.selectors.message_search`` in-process as the room's customer, captures
the commands it sends (pymongo command monitoring), and asks the server to explain each
one that reads the messages (the overflow read, then one per seq bucket searched, newest
first: ``chat/search_index.py``), so the plans shown are the queries the product really
runs: the index each used, keys and documents examined, documents returned."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pymongo import monitoring

SHOWN = 4  # the overflow read and the first buckets: the plans repeat after that

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")


class Capture(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, dict]] = []

    def started(self, event) -> None:
        if event.command_name in ("aggregate", "find"):
            self.commands.append((event.database_name, dict(event.command)))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def main() -> None:
    import django
    from django.conf import settings

    capture = Capture()
    settings.DATABASES["default"].setdefault("OPTIONS", {})["event_listeners"] = [capture]
    django.setup()
    from bson import ObjectId
    from django.db import connections

    from chat import selectors
    from chat.models import Room, RoomEvent

    room_id, word = sys.argv[1], sys.argv[2]
    room = Room.objects.get(pk=ObjectId(room_id))
    capture.commands.clear()
    selectors.message_search(room_id=room_id, user=room.customer, q=word)
    table = RoomEvent._meta.db_table
    reads = [(db, c) for db, c in capture.commands if table in (c.get("aggregate"), c.get("find"))]
    if not reads:
        print(f"no read of {table} captured: {[c for _, c in capture.commands]}")
        return
    client = connections["default"].connection
    shown = []
    for db_name, command in reads[:SHOWN]:
        command = {k: v for k, v in command.items() if not k.startswith("$") and k != "lsid"}
        plan = client[db_name].command({"explain": command, "verbosity": "executionStats"})
        winning = (plan.get("queryPlanner") or {}).get("winningPlan") or {}
        scan = winning.get("inputStage") or winning
        stats = plan.get("executionStats") or {}
        shown.append(
            {
                "first $match": (command.get("pipeline") or [{}])[0].get("$match")
                or command.get("filter"),
                "stage": scan.get("stage"),
                "index": scan.get("indexName"),
                "keys examined": stats.get("totalKeysExamined"),
                "docs examined": stats.get("totalDocsExamined"),
                "returned": stats.get("nReturned"),
            }
        )
    print(json.dumps({"reads of the messages": len(reads), "first reads": shown}, default=str))


if __name__ == "__main__":
    main()
