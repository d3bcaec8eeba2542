"""Print the database's plan for the product's own search query in one room:

    python bench/explain.py ROOM_ID WORD

It calls ``chat.selectors.message_search`` in-process as the room's customer, captures
the commands it sends (pymongo command monitoring), and asks the server to explain the
one that reads the messages, so the plan shown is the query the product really runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pymongo import monitoring

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
    db_name, command = reads[-1]
    command = {k: v for k, v in command.items() if not k.startswith("$") and k != "lsid"}
    client = connections["default"].connection
    plan = client[db_name].command({"explain": command, "verbosity": "executionStats"})
    shown = {
        "command": command,
        "winningPlan": (plan.get("queryPlanner") or {}).get("winningPlan"),
        "executionStats": plan.get("executionStats"),
    }
    print(json.dumps({k: v for k, v in shown.items() if v}, default=str)[:4000])


if __name__ == "__main__":
    main()
