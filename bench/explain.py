"""Print the database's plan for the search query of ``chat.selectors.message_search``
(rebuilt from the same selector pieces) in one room: python bench/explain.py ROOM_ID WORD"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")

import django

django.setup()

from chat import selectors  # noqa: E402
from chat.models import Room  # noqa: E402


def main() -> None:
    room_id, word = sys.argv[1], sys.argv[2]
    room = Room.objects.get(pk=selectors.object_id(room_id))
    rows = selectors._messages(room).filter(deleted=False, text__iregex=re.escape(word))
    query = rows.order_by("-seq")[:21]
    plan = query.explain()
    try:
        plan = json.loads(plan)
    except (TypeError, ValueError):
        print(plan)
        return
    # The parts that say which index is used: the query and the executed plan.
    shown = {
        "pipeline": (plan.get("command") or {}).get("pipeline"),
        "queryPlanner": plan.get("queryPlanner"),
        "executionStats": plan.get("executionStats"),
    }
    print(json.dumps({k: v for k, v in shown.items() if v}, default=str)[:4000])


if __name__ == "__main__":
    main()
