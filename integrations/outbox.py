"""The outbox: stored rows become deliveries. Nothing on the send path calls this; it
reads what the timeline writer has already made durable, so a crash, a restart or a slow
endpoint loses nothing and delays no chat.

**The cursor.** There is no global sequence across rooms: a room's rows have its own
``seq`` (gap-free but for holes, ``chat.holes``), and a row's ``_id`` is picked by the
process that builds it, before the writer's round stores it, so ids arrive roughly but
not strictly in order (a row can be stored after rows with later ids, at most about a
write timeout later). So the scan has two halves:

1. *Which rooms moved*: every row (and every ``Room``, for ``room.created``) whose
   ``_id`` time is after the oldest active endpoint's ``scanned_to`` minus the lookback:
   one read of an ``_id`` range for all rooms, whose rows also serve step 2. The
   lookback re-reads the recent past, which is what catches a row stored late with an
   earlier id: every tenth scan the whole ``WEBHOOK_SCAN_LOOKBACK_SECONDS``, the others
   its last 3 s (late by more is rare: a stalled round). ``scanned_to`` moves to the
   scan's start once the scan has finished (a crash mid-scan redoes it).
2. *Per room, in seq order*: each (endpoint, room) has a cursor (in the room's one
   ``WebhookRoomCursor`` document: every seq up to it has been turned into deliveries or
   was not wanted; absent: not even ``room.created``). The room's rows after the lowest
   cursor come from step 1's read, or else from the timeline's own (room, seq) index,
   and are handled strictly in seq order; a missing seq stops the room there until its
   row arrives (or it is a settled hole, skipped as ``chat.holes`` decides), so a late
   row is never jumped over and a room's deliveries are enqueued in order. A room
   stopped at a gap stays in the window while the rows after the gap do, longer than a
   hole takes to settle (so the lookback must exceed ``CHAT_HOLE_SETTLE_SECONDS`` and
   the write timeout). The cursor moves only forward (``$max``); it is written every
   tenth scan (the process remembers it in between: after a crash, the next holder
   re-reads from the written one, and leaves out what is recorded). The holder reads a
   room's cursors once per hold and remembers them: only the holder moves them.

**Sent, then recorded.** A scan's deliveries stay in memory (:class:`Scan`): the worker
sends them, and :meth:`Scan.record` records each one once, with its outcome, before any
cursor moves: those delivered at the first attempt in their row's one
``WebhookSentRow`` (one insert per row, however many endpoints), the others (waiting for
their retry, or for their room's turn) as one outbox document each. One process
scans at a time (``integrations.scanner``), so no two send the same rows; the unique
(endpoint, room, seq, kind) index still makes the record exactly-once. A crash between
the send and the record sends those again after the restart, with the same
``X-Webhook-Id`` (derived from endpoint, room, seq and kind): at least once. The next
holder of the scan looks up what is recorded among the rows stored before its hold
(``Scan.drop_recorded``), as its predecessor's unwritten cursors may lag.

An endpoint gets what happened from its creation on (rows created before it are
skipped); the room's creation is seq 0, the room's offline message (one per room,
``agents.models.OfflineMessage``) also goes at seq 0, after it. What the payload holds is
``chat.render``'s rendering of the row for the endpoint's audience (``customer``:
what the room's customer sees; ``staff``: what its agent sees): a row the audience may
not see renders to nothing and is not sent.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from agents.models import OfflineMessage
from chat import dtos, holes, render, routing_hooks, timeline
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat_project import mongo
from integrations.models import (
    DeliveryStatus,
    EndpointStatus,
    Scope,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookRoomCursor,
    WebhookSentRow,
)

# Timeline kinds that are webhook kinds (the rest are not sent).
ROW_KINDS: dict[str, str] = {
    EventKind.MESSAGE: WebhookKind.MESSAGE_CREATED,
    EventKind.ASSIGNED: WebhookKind.ROOM_ASSIGNED,
    EventKind.TRANSFERRED: WebhookKind.ROOM_TRANSFERRED,
    EventKind.CLOSED: WebhookKind.ROOM_CLOSED,
    EventKind.RATED: WebhookKind.ROOM_RATED,
    EventKind.SLA: WebhookKind.SLA_BREACHED,  # a breach only (``webhook_kind``)
}
ROOM_KINDS = frozenset({WebhookKind.ROOM_CREATED, *ROW_KINDS.values()})
AUDIENCES = {Scope.CUSTOMER: render.Audience.CUSTOMER, Scope.STAFF: render.Audience.AGENT}
PAGE = 500
DUPLICATE_KEY = 11000
# The worker's writes go in short commands: the embedded server runs one command at a
# time, and the gateways' writer rounds (a chat's acks) wait behind each. 200 deliveries
# in one insert held it ~30 ms; the acks' p99 followed (docs/benchmarks.md, "Webhooks").
WRITE_CHUNK = 25
FULL_LOOKBACK_EVERY = 10
SHORT_LOOKBACK_SECONDS = 3.0


def webhook_kind(row: RoomEvent) -> str | None:
    """The webhook kind of a timeline row, or None. Of the SLA flags only a breach is
    one: "nearing" is for the consoles."""
    if row.kind == EventKind.SLA and (row.data or {}).get("state") != "breached":
        return None
    return ROW_KINDS.get(row.kind)


def audience_of(endpoint: WebhookEndpoint) -> render.Audience:
    return AUDIENCES[Scope(endpoint.scope)]


def body(
    *, delivery_id: str, kind: str, created_at: datetime | None, room_id: Any, seq: int, data: Any
) -> dict[str, Any]:
    """The JSON body of a delivery (README, "Webhooks")."""
    return {
        "id": delivery_id,
        "kind": kind,
        "created_at": dtos.iso(created_at),
        "room_id": str(room_id) if room_id else None,
        "seq": seq,
        "data": data,
    }


def _document(delivery: WebhookDelivery) -> dict[str, Any]:
    """The document ``delivery.save(force_insert=True)`` would store, for a bulk insert."""
    doc = mongo.document_of(delivery)
    doc["status"] = str(delivery.status)
    return doc


class Scan:
    """One scan's deliveries, in memory until :meth:`record` (the worker sends them in
    between and sets each one's outcome on it). ``row_times``: each delivery's row's
    creation time, for :meth:`drop_recorded`."""

    def __init__(self, endpoints: list[WebhookEndpoint], started: datetime, full: bool) -> None:
        self.endpoints = endpoints
        self.started = started
        self.full = full
        self.deliveries: list[WebhookDelivery] = []
        self.row_times: dict[Any, datetime | None] = {}
        self.cursors: dict[tuple[Any, Any], int] = {}

    def add(self, delivery: WebhookDelivery, created_at: datetime | None) -> None:
        if delivery.pk is None:
            delivery.pk = ObjectId()
        self.deliveries.append(delivery)
        self.row_times[delivery.pk] = created_at

    def drop_recorded(self, before: datetime) -> int:
        """Leave out what is recorded already among the deliveries of rows stored before
        ``before`` (the previous holder of the scan may have sent them and not written its
        cursors); returns how many. One read per endpoint, by the unique index's
        (endpoint, room) prefix."""
        older = [
            d
            for d in self.deliveries
            if d.room_id is not None and (self.row_times[d.pk] or before) < before
        ]
        by_endpoint: dict[Any, list[WebhookDelivery]] = defaultdict(list)
        for delivery in older:
            by_endpoint[delivery.endpoint_id].append(delivery)
        recorded: set[tuple[Any, Any, int, str]] = set()
        for endpoint_id, deliveries in by_endpoint.items():
            rooms = sorted({d.room_id for d in deliveries})
            match = mongo.index_match({"endpoint_id": endpoint_id}, ("room_id", {"$in": rooms}))
            pipeline = [
                {"$match": match},
                {"$match": {"seq": {"$gte": min(d.seq for d in deliveries)}}},
                {"$project": {"room_id": 1, "seq": 1, "kind": 1}},
            ]
            for doc in mongo.collection(WebhookDelivery).aggregate(pipeline):
                recorded.add((endpoint_id, doc["room_id"], doc["seq"], doc["kind"]))
        if older:
            rooms = sorted({d.room_id for d in older})
            lowest = min(d.seq for d in older)
            recorded |= sent_recorded(rooms, lowest)
        kept = [
            d for d in self.deliveries if (d.endpoint_id, d.room_id, d.seq, d.kind) not in recorded
        ]
        dropped = len(self.deliveries) - len(kept)
        self.deliveries = kept
        return dropped

    def record(self) -> list[WebhookDelivery]:
        """Record every delivery as it stands now, then move the cursors and the endpoints'
        ``scanned_to``; returns the deliveries recorded (a collision: recorded already).
        Those delivered at the first attempt go into their row's one ``WebhookSentRow``;
        the rest (retrying, failed, waiting for their room's turn) are inserted one
        document each."""
        first, waiting = [], []
        for delivery in self.deliveries:
            (first if _first_attempt_success(delivery) else waiting).append(delivery)
        record_sent_rows(first, scopes={e.pk: e.scope for e in self.endpoints})
        docs = [_document(d) for d in waiting]
        inserted: set[Any] = {d.pk for d in first}
        # In short chunks, one after the other: the timeline writer's rounds get the
        # database between them (WRITE_CHUNK). Ordered, so a room's later delivery is
        # never stored without its earlier ones (the sender's head-of-room check relies
        # on it).
        for start in range(0, len(docs), WRITE_CHUNK):
            inserted |= _insert_ordered(docs[start : start + WRITE_CHUNK])
        # The cursors are written every FULL_LOOKBACK_EVERY-th scan, not every second:
        # until then this process remembers them; a later holder of the scan looks up
        # what is recorded before sending rows from before its hold (``drop_recorded``).
        with _unwritten_lock:
            for key, seq in self.cursors.items():
                _unwritten[key] = max(seq, _unwritten.get(key, -1))
                endpoint_id, room_id = key
                if room_id in _known:
                    known = _known[room_id]
                    known[endpoint_id] = max(seq, known.get(endpoint_id, -1))
            moves = dict(_unwritten) if self.full else {}
            if self.full:
                _unwritten.clear()
        _cursors_move(moves)
        ids = [e.pk for e in self.endpoints]
        WebhookEndpoint.objects.filter(pk__in=ids).update(scanned_to=self.started)
        return [d for d in self.deliveries if d.pk in inserted]


def _first_attempt_success(delivery: WebhookDelivery) -> bool:
    return (
        delivery.status == DeliveryStatus.DELIVERED
        and delivery.attempts == 1
        and delivery.room_id is not None
    )


def _sent_entry(delivery: WebhookDelivery, scope: str) -> dict[str, Any]:
    """One endpoint's part of a ``WebhookSentRow``."""
    return {
        "delivery_id": str(delivery.delivery_id),
        "scope": scope,
        "status_code": delivery.last_status_code,
        "at": dtos.iso(delivery.delivered_at or delivery.last_attempt_at),
    }


def record_sent_rows(deliveries: list[WebhookDelivery], *, scopes: dict[Any, str]) -> None:
    """One document per row for these first-attempt successes (``scopes``: each
    endpoint's), ``WRITE_CHUNK`` rows a command; a row recorded already (sent again after
    a crash) gets these endpoints merged in."""
    rows: dict[tuple[Any, int, str], dict[str, Any]] = {}
    for delivery in deliveries:
        scope = scopes[delivery.endpoint_id]
        key = (delivery.room_id, delivery.seq, delivery.kind)
        row = rows.setdefault(
            key,
            {
                "_id": ObjectId(),
                "room_id": delivery.room_id,
                "seq": delivery.seq,
                "kind": delivery.kind,
                "bodies": {},
                "sent": {},
                "created_at": timezone.now(),
            },
        )
        row["bodies"][scope] = {k: v for k, v in delivery.payload.items() if k != "id"}
        row["sent"][str(delivery.endpoint_id)] = _sent_entry(delivery, scope)
    docs = list(rows.values())
    collection = mongo.collection(WebhookSentRow)
    for start in range(0, len(docs), WRITE_CHUNK):
        chunk = docs[start : start + WRITE_CHUNK]
        try:
            collection.insert_many(chunk, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors):
                raise
            merges = [_merge_sent_row(chunk[error["index"]]) for error in errors]
            collection.bulk_write(merges, ordered=False)


def _merge_sent_row(doc: dict[str, Any]) -> UpdateOne:
    changes = {f"sent.{endpoint}": entry for endpoint, entry in doc["sent"].items()}
    changes |= {f"bodies.{scope}": body for scope, body in doc["bodies"].items()}
    return UpdateOne(
        {"room_id": doc["room_id"], "seq": doc["seq"], "kind": doc["kind"]}, {"$set": changes}
    )


def sent_recorded(rooms: list[Any], lowest: int) -> set[tuple[Any, Any, int, str]]:
    """(endpoint, room, seq, kind) of what the sent rows hold in these rooms from seq
    ``lowest`` on (the unique (room, seq, kind) index)."""
    pipeline = [
        {"$match": mongo.index_match({}, ("room_id", {"$in": rooms}))},
        {"$match": {"seq": {"$gte": lowest}}},
        {"$project": {"room_id": 1, "seq": 1, "kind": 1, "sent": 1}},
    ]
    return {
        (ObjectId(endpoint_id), doc["room_id"], doc["seq"], doc["kind"])
        for doc in mongo.collection(WebhookSentRow).aggregate(pipeline)
        for endpoint_id in doc.get("sent") or {}
    }


def _insert_ordered(docs: list[dict[str, Any]]) -> set[Any]:
    """Insert in order, stepping over collisions; returns the ids inserted."""
    inserted: set[Any] = set()
    collection = mongo.collection(WebhookDelivery)
    while docs:
        try:
            collection.insert_many(docs, ordered=True)
            return inserted | {doc["_id"] for doc in docs}
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            first = errors[0] if errors else None
            if first is None or first.get("code") != DUPLICATE_KEY:
                raise
            inserted |= {doc["_id"] for doc in docs[: first["index"]]}
            docs = docs[first["index"] + 1 :]
    return inserted


# Delivery ids are derived from what they deliver, so that one sent again after a crash
# (sent, not yet recorded) carries the id the receiver has seen.
_DELIVERY_IDS = uuid.UUID("0b7f5c1e-6a8e-4d39-9f0e-3c5a2d1b8e47")


def delivery_id_of(endpoint_id: Any, room_id: Any, seq: int, kind: str) -> str:
    return str(uuid.uuid5(_DELIVERY_IDS, f"{endpoint_id}/{room_id}/{seq}/{kind}"))


def enqueue(
    endpoint: WebhookEndpoint,
    *,
    kind: str,
    room_id: Any,
    seq: int,
    created_at: datetime | None,
    data: Any,
    scan: Scan | None = None,
) -> bool:
    """One delivery: into ``scan`` (sent, then recorded), or inserted now, pending (False:
    it existed already, the unique index decided)."""
    delivery_id = delivery_id_of(endpoint.pk, room_id, seq, kind)
    payload = body(
        delivery_id=delivery_id,
        kind=kind,
        created_at=created_at,
        room_id=room_id,
        seq=seq,
        data=data,
    )
    now = timezone.now()
    delivery = WebhookDelivery(
        endpoint=endpoint,
        delivery_id=delivery_id,
        room_id=room_id,
        seq=seq,
        kind=kind,
        payload=payload,
        next_attempt_at=now,
        queued_at=now,
        created_at=now,
        updated_at=now,
    )
    if scan is not None:
        scan.add(delivery, created_at)
        return True
    try:
        delivery.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def outbox_scan(*, now: datetime | None = None, hold: Any = None) -> Scan | None:
    """One scan for every active endpoint: the deliveries of what was stored since, in
    memory (None: no active endpoint). The caller sends them and records them. ``hold``:
    (holder, held since) when the caller holds the scan (``integrations.scanner``): the
    rooms' cursors are then read once per hold and remembered, as only the holder moves
    them; None reads them all."""
    endpoints = list(WebhookEndpoint.objects.filter(status=EndpointStatus.ACTIVE))
    if not endpoints:
        return None
    _remember_for(hold)
    started = now or timezone.now()
    full = next(_scans) % FULL_LOOKBACK_EVERY == 0
    lookback = timedelta(seconds=_lookback_seconds(full=full))
    since = min(e.scanned_to for e in endpoints) - lookback
    low = ObjectId.from_datetime(since)
    scan = Scan(endpoints, started, full)
    room_endpoints = [e for e in endpoints if ROOM_KINDS & set(e.kinds)]
    if room_endpoints:
        window = _rows_since(low)
        moved = {room_id: rows[-1].seq for room_id, rows in window.items()}
        for room_id in _rooms_created_since(low):
            moved.setdefault(room_id, 0)
        cursors = _cursors(list(moved), remember=hold is not None)
        behind = [
            room_id
            for room_id, newest in moved.items()
            if any(cursors.get((e.pk, room_id), -1) < newest for e in room_endpoints)
        ]
        rooms = {room.pk: room for room in timeline.rooms_by_ids(sorted(behind))}
        users = dtos.users_by_id(
            {r.customer_id for r in rooms.values()} | {r.agent_id for r in rooms.values()}
        )
        for room_id in sorted(rooms):
            position = {e.pk: cursors.get((e.pk, room_id), -1) for e in room_endpoints}
            rows = window.get(room_id, [])
            _scan_room(rooms[room_id], room_endpoints, position, users, scan, rows)
    offline_endpoints = [e for e in endpoints if WebhookKind.OFFLINE_MESSAGE_CREATED in e.kinds]
    if offline_endpoints:
        _scan_offline(low, offline_endpoints, scan)
    return scan


_scans = itertools.count()


def _lookback_seconds(*, full: bool) -> float:
    """The full lookback every ``FULL_LOOKBACK_EVERY``-th scan of the process, a short one
    otherwise: a row stored more than a moment late is rare (a stalled round), and
    re-reading the whole window every second was most of the embedded database's work."""
    if full:
        return settings.WEBHOOK_SCAN_LOOKBACK_SECONDS
    return min(SHORT_LOOKBACK_SECONDS, settings.WEBHOOK_SCAN_LOOKBACK_SECONDS)


def _rows_since(low: ObjectId) -> dict[ObjectId, list[RoomEvent]]:
    """Every row stored since ``low`` (``_id`` ranges, each for every room), by room, in
    seq order. A slice of ``SHORT_LOOKBACK_SECONDS`` of ids a read: the full lookback in
    one read held the embedded server ~50 ms, and a chat's write waited behind it."""
    by_room: dict[ObjectId, list[RoomEvent]] = defaultdict(list)
    start = low.generation_time
    step = timedelta(seconds=SHORT_LOOKBACK_SECONDS)
    while True:
        end = start + step
        last = end > timezone.now()
        condition = {"$gte": ObjectId.from_datetime(start)}
        if not last:
            condition["$lt"] = ObjectId.from_datetime(end)
        match = mongo.index_match({}, ("_id", condition))
        for row in RoomEvent.objects.raw_aggregate([{"$match": match}]):
            by_room[row.room_id].append(row)
        if last:
            break
        start = end
    for rows in by_room.values():
        rows.sort(key=lambda row: row.seq)
    return by_room


def _rooms_created_since(low: ObjectId) -> list[ObjectId]:
    match = mongo.index_match({}, ("_id", {"$gte": low}))
    return [row["_id"] for row in timeline.rooms_collection().find(match, {"_id": 1})]


# Cursors moved by this process since they were last written (``Scan.record``): a scan reads the
# stored ones and these, the furthest of each.
_unwritten: dict[tuple[Any, Any], int] = {}
_unwritten_lock = threading.Lock()
# The holder's cursors, room -> {endpoint id: seq}: each room's read once per hold, then
# moved here. Reading them every second was the worker's longest command (55-105 ms of
# the embedded server for 100 rooms; docs/benchmarks.md, "Webhooks").
_known: dict[Any, dict[Any, int]] = {}
_known_hold: list[Any] = [None]
KNOWN_ROOMS_MAX = 100_000
CURSOR_CHUNK = 5


def _remember_for(hold: Any) -> None:
    """Forget the remembered cursors unless this is the hold they were read under
    (another holder may have moved them in between)."""
    with _unwritten_lock:
        if hold is None or hold != _known_hold[0] or len(_known) > KNOWN_ROOMS_MAX:
            _known.clear()
            _known_hold[0] = hold


def _cursors(room_ids: list[ObjectId], *, remember: bool = False) -> dict[tuple[Any, Any], int]:
    """Every endpoint's cursor in these rooms: the remembered ones (``remember``), the
    others read by the unique room_id index, a chunk a command."""
    if not room_ids:
        return {}
    with _unwritten_lock:
        known = {r: dict(_known[r]) for r in room_ids if remember and r in _known}
    unread = [r for r in room_ids if r not in known]
    for start in range(0, len(unread), WRITE_CHUNK):
        chunk = unread[start : start + WRITE_CHUNK]
        read = {room_id: {} for room_id in chunk}
        rows = mongo.collection(WebhookRoomCursor).find(
            {"room_id": {"$in": chunk}}, {"room_id": 1, "seqs": 1}
        )
        for row in rows:
            seqs = row.get("seqs") or {}
            read[row["room_id"]] = {ObjectId(e): int(seq) for e, seq in seqs.items()}
        known |= read
        if remember:
            with _unwritten_lock:
                for room_id, seqs in read.items():
                    _known.setdefault(room_id, dict(seqs))
    found = {
        (endpoint_id, room_id): seq
        for room_id, seqs in known.items()
        for endpoint_id, seq in seqs.items()
    }
    wanted = set(room_ids)
    with _unwritten_lock:
        for key, seq in _unwritten.items():
            if key[1] in wanted and seq > found.get(key, -1):
                found[key] = seq
    return found


def _cursors_move(moves: dict[tuple[Any, Any], int]) -> None:
    """Each (endpoint, room) cursor forward to its seq (``$max``: never back): one update
    per room, ``WRITE_CHUNK`` rooms a command."""
    if not moves:
        return
    by_room: dict[Any, dict[str, int]] = defaultdict(dict)
    for (endpoint_id, room_id), seq in moves.items():
        by_room[room_id][f"seqs.{endpoint_id}"] = seq
    collection = mongo.collection(WebhookRoomCursor)

    rooms = list(by_room.items())
    # Few rooms a command: each upsert rewrites a document of every endpoint's seq.
    for start in range(0, len(rooms), CURSOR_CHUNK):
        chunk = rooms[start : start + CURSOR_CHUNK]

        def ops(upsert: bool, chunk=chunk) -> list[UpdateOne]:
            return [
                UpdateOne({"room_id": room_id}, {"$max": seqs}, upsert=upsert)
                for room_id, seqs in chunk
            ]

        try:
            collection.bulk_write(ops(True), ordered=False)
        except BulkWriteError:  # another scanner's upsert won a race: move those ones
            collection.bulk_write(ops(False), ordered=False)


def _wants(endpoint: WebhookEndpoint, kind: str, created_at: datetime | None, team: Any) -> bool:
    if kind not in endpoint.kinds:
        return False
    if created_at is not None and created_at < endpoint.created_at:
        return False
    return endpoint.team_id is None or endpoint.team_id == team


def _as_created(room: Room) -> Room:
    """The room as it was created (queued, nobody holding it, nothing said)."""
    shown = copy.copy(room)
    shown.status = RoomStatus.QUEUED
    shown.agent_id = None
    shown.assigned_at = shown.closed_at = None
    shown.last_message = None
    shown.last_seq = 0
    shown.tags = []
    shown.rating = None
    return shown


def _scan_room(
    room: Room,
    endpoints: list[WebhookEndpoint],
    position: dict[Any, int],
    users: dict[str, Any],
    scan: Scan,
    window_rows: list[RoomEvent],
) -> None:
    """One room's new rows, in seq order, for every endpoint (``position``: each one's
    cursor, moved here as rows are handled). ``window_rows``: the room's rows the scan
    read already; the room's timeline is read only for what they do not hold."""
    room_id = room.pk
    before = dict(position)
    # Seq 0: the room's creation.
    created = _as_created(room)
    for endpoint in endpoints:
        if position[endpoint.pk] >= 0:
            continue
        if _wants(endpoint, WebhookKind.ROOM_CREATED, room.created_at, room.team_id):
            audience = audience_of(endpoint)
            extras = routing_hooks.room_extras(created)
            data = {"room": render.room(created, users, audience=audience, extras=extras)}
            enqueue(
                endpoint,
                kind=WebhookKind.ROOM_CREATED,
                room_id=room_id,
                seq=0,
                created_at=room.created_at,
                data=data,
                scan=scan,
            )
        position[endpoint.pk] = 0
    done = min(position.values())
    recent = [row for row in window_rows if row.seq > done]
    served = False
    if recent and recent[0].seq == done + 1:
        # The window's rows follow on from the cursor: they are all there is to do now
        # (a gap among them waits for its row; rows stored after the read are in the
        # next scan's window).
        _handle_rows(room, recent, endpoints, position, users, scan, start=done)
        served = True
    while not served and done < room.last_seq:
        rows = timeline.events(room_id, seq={"$gt": done}, limit=PAGE)
        reached = _handle_rows(room, rows, endpoints, position, users, scan, start=done)
        if reached == done:
            break  # stopped at a seq whose row is not stored yet
        done = reached
        if len(rows) < PAGE:
            break
    for endpoint in endpoints:
        if position[endpoint.pk] > before[endpoint.pk]:
            scan.cursors[(endpoint.pk, room_id)] = position[endpoint.pk]


def _handle_rows(
    room: Room,
    rows: list[RoomEvent],
    endpoints: list[WebhookEndpoint],
    position: dict[Any, int],
    users: dict[str, Any],
    scan: Scan,
    *,
    start: int,
) -> int:
    """Rows in seq order, up to the first missing seq that is not a settled hole;
    returns the last seq handled."""
    expected = start + 1
    wanted = [r for r in rows if r.kind in ROW_KINDS]
    named = {r.actor_id for r in wanted}
    held = {r.pk: render.room_as_of(r, room) for r in wanted if (r.data or {}).get("room")}
    named |= {h.agent_id for h in held.values()}
    users = dtos.users_by_id(named, known=list(users.values()))
    scene = render.Scene(room=room, users=users)
    for row in rows:
        if row.seq > expected:
            missing = list(range(expected, row.seq))
            if holes.settled(room, missing, rows) != missing:
                return expected - 1
        expected = row.seq + 1
        kind = webhook_kind(row)
        shown_room = held.get(row.pk, room)
        # Rendered once per audience, however many endpoints share it.
        renderings: dict[render.Audience, Any] = {}
        for endpoint in endpoints:
            if position[endpoint.pk] >= row.seq:
                continue
            position[endpoint.pk] = row.seq
            if kind is None or not _wants(endpoint, kind, row.created_at, shown_room.team_id):
                continue
            audience = audience_of(endpoint)
            if audience not in renderings:
                row_scene = scene
                if row.pk in held:
                    extras = routing_hooks.room_extras(shown_room)
                    row_scene = dataclasses.replace(scene, room=shown_room, room_extras=extras)
                renderings[audience] = render.event(row, row_scene, audience)
            rendered = renderings[audience]
            if rendered is None:
                continue  # the endpoint's audience sees nothing of it
            enqueue(
                endpoint,
                kind=kind,
                room_id=room.pk,
                seq=row.seq,
                created_at=row.created_at,
                data=rendered[1],
                scan=scan,
            )
    return expected - 1


def _scan_offline(low: ObjectId, endpoints: Iterable[WebhookEndpoint], scan: Scan) -> None:
    left = list(OfflineMessage.objects.filter(pk__gte=low))
    if not left:
        return
    users = dtos.users_by_id({m.customer_id for m in left})
    for item in left:
        for endpoint in endpoints:
            kind = WebhookKind.OFFLINE_MESSAGE_CREATED
            if not _wants(endpoint, kind, item.created_at, item.team_id):
                continue
            data = {
                "room_id": str(item.room_id),
                "team_id": str(item.team_id) if item.team_id else None,
                "customer": dtos.user_brief(users.get(str(item.customer_id))),
                "email": item.email,
                "message": item.message,
                "created_at": dtos.iso(item.created_at),
            }
            enqueue(
                endpoint,
                kind=kind,
                room_id=item.room_id,
                seq=0,
                created_at=item.created_at,
                data=data,
                scan=scan,
            )
