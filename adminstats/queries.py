"""The raw aggregation pipelines behind the chat statistics (docs/stats.md).

Every figure is computed by the database: a stats read is a fixed number of commands
(one over the rooms, one over the room events, one over the users) whatever the
number of rooms or messages, and what comes back is counts and a few durations per
agent, never rooms or messages.

Index shape (see ``chat.timeline``): each pipeline starts with a flat ``$match``
that is an index prefix on mongod. Rooms by status use (status, queued_at). Rooms
created in a window and events of a window have no time index of their own: they are
found by ``_id``, whose ObjectId carries the insert time to the second, widened by
``STATS_ID_SLACK_SECONDS`` and then filtered exactly on the time field. (SecantusDB, the
embedded dev server, answers an ``_id`` range with a collection scan; mongod walks the
``_id`` index.) Lookups go from an event to its room by ``_id`` and from a room to its
events by the (room_id, seq) index.

Portable on both servers: arrays of sub-documents are read with ``$map``, never with a
``"$array.field"`` path (SecantusDB 0.7 does not traverse those; mongod does).

Percentiles are nearest-rank: sort the n durations ascending; p is the value at
rank ceil(p * n) (1-based). The median is p = 0.5 (the lower middle value for even n).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from accounts.models import User
from adminstats.pipelines import (
    RATINGS,
    concat,
    id_range,
    ms,
    or_null,
    per_key,
    pluck,
    room_events,
    room_of_group,
    summary,
    summary_of_ms,
)
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat_project import mongo

MESSAGE = EventKind.MESSAGE.value
ASSIGNED = EventKind.ASSIGNED.value
TRANSFERRED = EventKind.TRANSFERRED.value
CLOSED = EventKind.CLOSED.value
SYSTEM = EventKind.SYSTEM.value
SLA = EventKind.SLA.value


def rooms_collection():
    return mongo.collection(Room)


def events_collection():
    return mongo.collection(RoomEvent)


def users_collection():
    return mongo.collection(User)


# --- now: rooms by status, the queue; rooms created in a window ----------------------------


def room_counts(*, start: datetime, end: datetime) -> dict[str, Any]:
    """One command: rooms per status (and the oldest ``queued_at``) right now, rooms
    created in [start, end), and of those the rooms per tag they carry. Each branch
    starts on an index ((status, queued_at); _id). Per team (issue 15): the queue's
    length and oldest ``queued_at``, the rooms created and how many of them while the
    team was closed (``by_team``, keyed by team id, None for the general queue)."""

    def per_status(status: str, **extra: Any) -> list[dict[str, Any]]:
        return [
            {"$match": {"status": status}},
            {
                "$group": {
                    "_id": {"status": status, "team": or_null("$team_id")},
                    "n": {"$sum": 1},
                    **extra,
                }
            },
        ]

    created = [
        {"$match": id_range(start, end)},
        {"$match": {"created_at": {"$gte": start, "$lt": end}}},
        {
            "$group": {
                "_id": {"status": "created", "team": or_null("$team_id")},
                "n": {"$sum": 1},
                "offline": {"$sum": {"$cond": [{"$eq": ["$created_offline", True]}, 1, 0]}},
            }
        },
    ]
    tagged = [
        {"$match": id_range(start, end)},
        {"$match": {"created_at": {"$gte": start, "$lt": end}}},
        {"$project": {"tags": 1}},
        {"$unwind": "$tags"},  # rooms without tags (or from before tags) give no row
        {"$group": {"_id": {"tag": "$tags"}, "n": {"$sum": 1}}},
    ]
    table = Room._meta.db_table
    pipeline = [
        *per_status(RoomStatus.QUEUED.value, oldest=({"$min": "$queued_at"})),
        {"$unionWith": {"coll": table, "pipeline": per_status(RoomStatus.ACTIVE.value)}},
        {"$unionWith": {"coll": table, "pipeline": per_status(RoomStatus.CLOSED.value)}},
        {"$unionWith": {"coll": table, "pipeline": created}},
        {"$unionWith": {"coll": table, "pipeline": tagged}},
    ]
    totals: dict[str, int] = {}
    oldest = None
    by_team: dict[Any, dict[str, Any]] = {}
    tags: dict[str, int] = {}
    for row in rooms_collection().aggregate(pipeline):
        if "tag" in row["_id"]:
            tags[row["_id"]["tag"]] = int(row["n"])
            continue
        status, team = row["_id"]["status"], row["_id"].get("team")
        totals[status] = totals.get(status, 0) + int(row["n"])
        figures = by_team.setdefault(team, {"queued": 0, "oldest_queued_at": None})
        figures[status] = int(row["n"])
        if status == RoomStatus.QUEUED.value:
            figures["oldest_queued_at"] = row.get("oldest")
            if row.get("oldest") is not None and (oldest is None or row["oldest"] < oldest):
                oldest = row["oldest"]
        if status == "created":
            figures["created_offline"] = int(row.get("offline") or 0)
    return {
        "tags": tags,
        "queued": totals.get("queued", 0),
        "active": totals.get("active", 0),
        "closed": totals.get("closed", 0),
        "oldest_queued_at": oldest,
        "created": totals.get("created", 0),
        "by_team": by_team,
    }


# --- a window of room events ---------------------------------------------------------------


def window_figures(*, start: datetime, end: datetime, agent_ids: list[ObjectId]) -> dict[str, Any]:
    """One command over the room events of [start, end) (docs/stats.md):

    - ``messages``: message events created in the window, per agent sender;
    - ``first_responses``: rooms whose first agent reply falls in the window, the
      reply time minus the latest assignment or transfer before it, per replying agent;
    - ``waits``: rooms whose first assignment falls in the window, that time minus the
      room's creation;
    - ``closed``: rooms whose ``closed_at`` falls in the window (found by their
      ``closed`` event), closed_at minus created_at, per the room's agent; with how
      many of them their customer rated (``rated``) and rated 4 or 5 (``positive``);
    - per team (issue 15; a room counts for the team it is in now): the same three
      durations (and the ratings of the closed rooms), and ``overflows``: rooms moved
      out of a team's queue to its fallback (the ``system`` events of an overflow) in
      the window;
    - ``sla_breaches`` (issue 30): the ``sla`` rows of a breach written in the window,
      per target and per the team the room was in then (``data.team_id``).
    """
    window = {"$gte": start, "$lt": end}
    messages = [
        {"$match": {"kind": MESSAGE, "created_at": window}},
        {"$group": {"_id": "$actor_id", "n": {"$sum": 1}}},
        # Per sender first (cheap), then agents apart and everyone else as one row.
        {
            "$group": {
                "_id": {"$cond": [{"$in": ["$_id", agent_ids]}, "$_id", None]},
                "n": {"$sum": "$n"},
            }
        },
    ]
    first_responses = [
        {"$match": {"kind": MESSAGE, "created_at": window, "actor_id": {"$in": agent_ids}}},
        # Only the room's current agent posts, and their first message sets
        # first_agent_reply_at: the room's earliest agent message in the window is its
        # first reply exactly when first_agent_reply_at equals its time.
        {
            "$group": {
                "_id": "$room_id",
                "first": {
                    "$top": {"sortBy": {"created_at": 1}, "output": ["$created_at", "$actor_id"]}
                },
            }
        },
        {
            "$project": {
                "at": {"$arrayElemAt": ["$first", 0]},
                "agent": {"$arrayElemAt": ["$first", 1]},
            }
        },
        *room_of_group(),
        {"$match": {"$expr": {"$eq": ["$room.first_agent_reply_at", "$at"]}}},
        # The room's assigned_at is its latest assignment or transfer: when that is
        # not after the reply it is the handover we want. Only rooms handed over again
        # after the reply look their events up (a null key finds nothing).
        {
            "$addFields": {
                "later_handover": {"$cond": [{"$gt": ["$room.assigned_at", "$at"]}, "$_id", None]}
            }
        },
        room_events("later_handover", [ASSIGNED, TRANSFERRED], "handovers"),
        {
            "$project": {
                "agent": 1,
                "team": "$room.team_id",
                "ms": {
                    "$subtract": [
                        "$at",
                        {
                            "$cond": [
                                {"$eq": ["$later_handover", None]},
                                "$room.assigned_at",
                                {
                                    "$max": {
                                        "$filter": {
                                            "input": pluck("$handovers", "created_at"),
                                            "as": "t",
                                            "cond": {"$lte": ["$$t", "$at"]},
                                        }
                                    }
                                },
                            ]
                        },
                    ]
                },
            }
        },
        {"$match": {"ms": {"$ne": None}}},
        {
            "$group": {
                "_id": {"agent": or_null("$agent"), "team": or_null("$team")},
                "ms": {"$push": "$ms"},
            }
        },
    ]
    waits = [
        {"$match": {"kind": ASSIGNED, "created_at": window}},
        {"$group": {"_id": "$room_id", "at": {"$min": "$created_at"}}},
        *room_of_group(),
        # Keep the room's first assignment ever, not a re-assignment after a requeue.
        # A room created in the window has all its assignments here, so the earliest
        # is the first; only an older room looks its assignments up (null finds none).
        {"$addFields": {"older": {"$cond": [{"$lt": ["$room.created_at", start]}, "$_id", None]}}},
        room_events("older", [ASSIGNED], "assignments"),
        {
            "$match": {
                "$expr": {
                    "$or": [
                        {"$eq": ["$older", None]},
                        {"$eq": [{"$min": pluck("$assignments", "created_at")}, "$at"]},
                    ]
                }
            }
        },
        {
            "$group": {
                "_id": {"team": or_null("$room.team_id")},
                "ms": {"$push": {"$subtract": ["$at", "$room.created_at"]}},
            }
        },
    ]
    closed = [
        # The closed event follows the room's close by milliseconds: the window is
        # checked on the room's own closed_at.
        {"$match": {"kind": CLOSED}},
        {"$group": {"_id": "$room_id"}},
        *room_of_group(),
        {"$match": {"room.closed_at": window}},
        {"$addFields": {"rating": {"$ifNull": ["$room.rating", 0]}}},
        {
            "$group": {
                "_id": {"agent": or_null("$room.agent_id"), "team": or_null("$room.team_id")},
                "n": {"$sum": 1},
                "ms": {"$push": {"$subtract": ["$room.closed_at", "$room.created_at"]}},
                "rated": {"$sum": {"$cond": [{"$gte": ["$rating", 1]}, 1, 0]}},
                "positive": {"$sum": {"$cond": [{"$gte": ["$rating", 4]}, 1, 0]}},
            }
        },
    ]
    overflows = [
        {"$match": {"kind": SYSTEM, "created_at": window, "data.kind": "overflow"}},
        {"$group": {"_id": "$data.from_team.id", "n": {"$sum": 1}}},
    ]
    sla_breaches = [
        {"$match": {"kind": SLA, "created_at": window, "data.state": "breached"}},
        {
            "$group": {
                "_id": {"target": "$data.target", "team": or_null("$data.team_id")},
                "n": {"$sum": 1},
            }
        },
    ]
    pipeline = [
        {"$match": id_range(start, end)},
        {"$match": {"kind": {"$in": [MESSAGE, ASSIGNED, CLOSED, SYSTEM, SLA]}}},
        {
            "$facet": {
                "messages": messages,
                "first_responses": first_responses,
                "waits": waits,
                "closed": closed,
                "overflows": overflows,
                "sla_breaches": sla_breaches,
            }
        },
        {
            "$project": {
                "messages": 1,
                "overflows": 1,
                "sla_breaches": 1,
                "first_response": summary(concat(pluck("$first_responses", "ms"))),
                "first_response_by_agent": per_key(
                    "$first_responses", "agent", "agent_id", summary=summary_of_ms
                ),
                "first_response_by_team": per_key(
                    "$first_responses", "team", "team_id", summary=summary_of_ms
                ),
                "wait": summary(ms("$waits")),
                "wait_by_team": per_key("$waits", "team", "team_id", summary=summary_of_ms),
                "resolution": summary(ms("$closed")),
                "resolution_by_team": per_key(
                    "$closed", "team", "team_id", summary=summary_of_ms, **RATINGS
                ),
                "closed_by_agent": per_key("$closed", "agent", "agent_id", **RATINGS),
            }
        },
    ]
    [doc] = list(events_collection().aggregate(pipeline))
    return doc


# --- the last day, in buckets (the dashboard's charts) --------------------------------------


def _bucket(field: str, minutes: int) -> dict[str, Any]:
    return {"$dateTrunc": {"date": field, "unit": "minute", "binSize": minutes}}


def room_series(*, start: datetime, end: datetime, minutes: int) -> dict[datetime, int]:
    """Rooms created per bucket of ``minutes`` in [start, end)."""
    pipeline = [
        {"$match": id_range(start, end)},
        {"$match": {"created_at": {"$gte": start, "$lt": end}}},
        {"$group": {"_id": _bucket("$created_at", minutes), "n": {"$sum": 1}}},
    ]
    return {row["_id"]: int(row["n"]) for row in rooms_collection().aggregate(pipeline)}


def event_series(*, start: datetime, end: datetime, minutes: int) -> dict[str, dict]:
    """Per bucket of [start, end): rooms assigned (``assigned`` events), rooms put back
    in the queue (the ``system`` event of a requeue, which names ``from_agent``), rooms
    closed (by closed_at) and of those the ones closed while queued (no agent)."""
    window = {"$gte": start, "$lt": end}
    pipeline = [
        {"$match": id_range(start, end)},
        {"$match": {"kind": {"$in": [ASSIGNED, SYSTEM, CLOSED]}}},
        {
            "$facet": {
                "assigned": [
                    {"$match": {"kind": ASSIGNED, "created_at": window}},
                    {"$group": {"_id": _bucket("$created_at", minutes), "n": {"$sum": 1}}},
                ],
                "requeued": [
                    {
                        "$match": {
                            "kind": SYSTEM,
                            "created_at": window,
                            "data.from_agent": {"$exists": True},
                        }
                    },
                    {"$group": {"_id": _bucket("$created_at", minutes), "n": {"$sum": 1}}},
                ],
                "closed": [
                    {"$match": {"kind": CLOSED}},
                    {"$group": {"_id": "$room_id"}},
                    *room_of_group(),
                    {"$match": {"room.closed_at": window}},
                    {
                        "$group": {
                            "_id": _bucket("$room.closed_at", minutes),
                            "n": {"$sum": 1},
                            "queued": {
                                "$sum": {
                                    "$cond": [
                                        {"$eq": [{"$ifNull": ["$room.agent_id", None]}, None]},
                                        1,
                                        0,
                                    ]
                                }
                            },
                        }
                    },
                ],
            }
        },
    ]
    [doc] = list(events_collection().aggregate(pipeline))
    return {
        "assigned": {row["_id"]: int(row["n"]) for row in doc["assigned"]},
        "requeued": {row["_id"]: int(row["n"]) for row in doc["requeued"]},
        "closed": {row["_id"]: int(row["n"]) for row in doc["closed"]},
        "closed_queued": {row["_id"]: int(row["queued"]) for row in doc["closed"]},
    }


# --- people ---------------------------------------------------------------------------------


def online_by_role(user_ids: set[str]) -> dict[str, int]:
    """How many of ``user_ids`` (presence) are customers, agents, admins."""
    oids = [ObjectId(i) for i in user_ids if ObjectId.is_valid(i)]
    if not oids:
        return {}
    pipeline = [{"$match": {"_id": {"$in": oids}}}, {"$group": {"_id": "$role", "n": {"$sum": 1}}}]
    return {row["_id"]: int(row["n"]) for row in users_collection().aggregate(pipeline)}
