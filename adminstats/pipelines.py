"""Aggregation expressions the statistics are built from (ranks, summaries, a window's
id range, a room's events looked up by kind, figures per agent or per team)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings

from chat.models import EventKind, Room, RoomEvent

MESSAGE = EventKind.MESSAGE.value
ASSIGNED = EventKind.ASSIGNED.value
TRANSFERRED = EventKind.TRANSFERRED.value
CLOSED = EventKind.CLOSED.value
SYSTEM = EventKind.SYSTEM.value


def id_range(start: datetime, end: datetime) -> dict[str, Any]:
    """``_id`` bounds for documents inserted in [start, end), widened by the slack."""
    slack = timedelta(seconds=settings.STATS_ID_SLACK_SECONDS)
    return {
        "_id": {
            "$gte": ObjectId.from_datetime(start - slack),
            "$lt": ObjectId.from_datetime(end + slack),
        }
    }


def _rank_pick(sorted_array: Any, p: float) -> dict[str, Any]:
    """Nearest-rank percentile of an ascending array expression (null when empty)."""
    size = {"$size": sorted_array}
    index = {"$toInt": {"$subtract": [{"$ceil": {"$multiply": [p, size]}}, 1]}}
    return {"$cond": [{"$eq": [size, 0]}, None, {"$arrayElemAt": [sorted_array, index]}]}


def summary(array: Any) -> dict[str, Any]:
    """``{count, median, p90}`` of an array expression of durations (ms)."""
    ordered = {"$sortArray": {"input": array, "sortBy": 1}}
    return {
        "$let": {
            "vars": {"sorted": ordered},
            "in": {
                "count": {"$size": "$$sorted"},
                "median": _rank_pick("$$sorted", 0.5),
                "p90": _rank_pick("$$sorted", 0.9),
            },
        }
    }


def concat(array_of_arrays: Any) -> dict[str, Any]:
    return {
        "$reduce": {
            "input": array_of_arrays,
            "initialValue": [],
            "in": {"$concatArrays": ["$$value", "$$this"]},
        }
    }


def pluck(array: Any, field: str) -> dict[str, Any]:
    """``array[*].field`` written with ``$map`` (see the module note)."""
    return {"$map": {"input": array, "as": "row", "in": f"$$row.{field}"}}


def room_of_group() -> list[dict[str, Any]]:
    """After a ``$group`` by room id: the room document as ``room``."""
    return [
        {
            "$lookup": {
                "from": Room._meta.db_table,
                "localField": "_id",
                "foreignField": "_id",
                "as": "room",
            }
        },
        {"$unwind": "$room"},
    ]


def room_events(local_field: str, kinds: list[str], as_: str) -> dict[str, Any]:
    """The room's events of ``kinds`` (times only), by the (room_id, seq) index."""
    return {
        "$lookup": {
            "from": RoomEvent._meta.db_table,
            "localField": local_field,
            "foreignField": "room_id",
            "pipeline": [
                {"$match": {"kind": {"$in": kinds}}},
                {"$project": {"_id": 0, "created_at": 1}},
            ],
            "as": as_,
        }
    }


def or_null(path: str) -> dict[str, Any]:
    """A field for a group key: a missing one (rooms from before teams) is null."""
    return {"$ifNull": [path, None]}


def ms(rows: Any) -> dict[str, Any]:
    """Every duration of ``rows`` (groups with an ``ms`` array), one array."""
    return concat(pluck(rows, "ms"))


def per_key(rows: Any, key: str, name: str, **figures: Callable[[Any], Any]) -> dict[str, Any]:
    """``[{name: k, field: figure(rows whose _id.key is k), ...}]`` for every distinct k
    and every ``field=figure``: groups keyed by (agent, team) summed up by one of the
    two, in the database."""
    return {
        "$map": {
            "input": {"$setUnion": [pluck(rows, f"_id.{key}")]},
            "as": "key",
            "in": {
                "$let": {
                    "vars": {
                        "mine": {
                            "$filter": {
                                "input": rows,
                                "as": "one",
                                "cond": {"$eq": [f"$$one._id.{key}", "$$key"]},
                            }
                        }
                    },
                    "in": {
                        name: "$$key",
                        **{field: figure("$$mine") for field, figure in figures.items()},
                    },
                }
            },
        }
    }


def summary_of_ms(rows: Any) -> dict[str, Any]:
    """``summary`` of every duration of ``rows``: a figure for ``per_key``."""
    return summary(ms(rows))


def _sum_of(field: str) -> Callable[[Any], dict[str, Any]]:
    return lambda rows: {"$sum": pluck(rows, field)}


# Closed rooms summed per agent or per team (``per_key``): how many, rated, rated 4 or 5.
RATINGS = {"n": _sum_of("n"), "rated": _sum_of("rated"), "positive": _sum_of("positive")}
