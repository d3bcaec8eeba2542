"""Webhooks end to end through the services and the worker, against a real HTTP receiver on
127.0.0.1: what is sent (signed, the renderer's payload for the endpoint's scope), in
what order, and what happens when the receiver fails, is slow or never answers."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from bson import ObjectId
from django.utils import timezone

from agents.models import Team
from chat import services as chat_services
from chat.models import EventKind, Room, RoomEvent
from chat.tests.factories import room_open, room_with_agent, send, seq_taken_without_event
from chat.writer import Place, Placed, timeline_writer
from integrations import selectors, services, signing, worker
from integrations.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookRoomCursor,
    WebhookScanLock,
    WebhookSentRow,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOM_KINDS = [
    WebhookKind.ROOM_CREATED,
    WebhookKind.MESSAGE_CREATED,
    WebhookKind.ROOM_ASSIGNED,
    WebhookKind.ROOM_CLOSED,
    WebhookKind.ROOM_RATED,
]


def register(admin, url, kinds=ROOM_KINDS, **kwargs):
    return services.endpoint_create(actor=admin, url=url, kinds=list(kinds), **kwargs)


def run_until(done, *, ticks: int = 80, holder: str = worker.WORKER_ID) -> None:
    for _ in range(ticks):
        worker.webhooks_tick(holder=holder)
        if done():
            return
        time.sleep(0.02)
    raise AssertionError("the worker did not get there")


def pending() -> int:
    return WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()


def deliveries_of(endpoint) -> list[dict]:
    """What the admin API lists for an endpoint (the outbox's and the sent rows'), oldest
    first."""
    return selectors.delivery_list(endpoint_id=endpoint["id"], limit=200)[::-1]


def recorded() -> int:
    """Deliveries recorded: the outbox's, and each sent row's endpoints."""
    sent = sum(len(row.sent) for row in WebhookSentRow.objects.all())
    return WebhookDelivery.objects.count() + sent


def seqs_of(bodies, room) -> list[int]:
    return [b["seq"] for b in bodies if b["room_id"] == str(room.pk)]


# --- what is sent ----------------------------------------------------------------------------


def test_a_delivery_is_signed_and_carries_the_renderers_payload(receiver, support_admin, customer):
    created = register(support_admin, receiver.url)
    room = room_open(customer)
    sent = send(room, customer, "where is my order?")
    run_until(lambda: len(receiver.delivered()) == 2)

    first, second = receiver.requests
    assert (first.json["kind"], second.json["kind"]) == ("room.created", "message.created")
    header = second.headers[signing.SIGNATURE_HEADER]
    now = time.time()
    assert signing.verify(secret=created["secret"], header=header, body=second.body, now=now)
    assert not signing.verify(secret="wrong" * 4, header=header, body=second.body, now=now)
    # A stale timestamp fails the receiver's tolerance check.
    assert not signing.verify(
        secret=created["secret"], header=header, body=second.body, now=time.time() + 3600
    )
    body = second.json
    assert set(body) == {"id", "kind", "created_at", "room_id", "seq", "data"}
    assert second.headers[signing.ID_HEADER] == body["id"]
    assert (body["room_id"], body["seq"]) == (str(room.pk), sent["seq"])
    assert body["data"]["message"]["text"] == "where is my order?"
    assert body["data"]["message"]["id"] == sent["id"]
    # Delivered at the first attempt: recorded in the row's one sent row, listed as any
    # delivery, with the very body that was sent.
    [stored] = [d for d in deliveries_of(created) if d["delivery_id"] == body["id"]]
    assert (stored["status"], stored["attempts"], stored["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert signing.body_bytes(stored["payload"]) == second.body
    assert WebhookDelivery.objects.count() == 0


def test_nothing_from_before_the_endpoint_existed(receiver, support_admin, customer):
    room = room_open(customer)
    send(room, customer, "before")
    register(support_admin, receiver.url)
    send(room, customer, "after")
    run_until(lambda: pending() == 0 and len(receiver.delivered()) >= 1)
    worker.webhooks_tick()
    texts = [b["data"]["message"]["text"] for b in receiver.delivered()]
    assert texts == ["after"]


# --- order, retries, the bound, pausing ------------------------------------------------------


def test_a_failing_head_holds_its_room_back_and_retries_keep_the_order(
    receiver, support_admin, customer, other_customer
):
    # The first three requests get a 500; other rooms are not held back by this one.
    receiver.answer = lambda n: 500 if n < 3 else 200
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    other = room_open(other_customer)
    for n in range(4):
        send(room, customer, f"a{n}")
        send(other, other_customer, f"b{n}")
    run_until(lambda: len(receiver.delivered()) == 8)

    assert seqs_of(receiver.delivered(), room) == [1, 2, 3, 4]
    assert seqs_of(receiver.delivered(), other) == [1, 2, 3, 4]
    # Every attempt of a room (failed ones too) went in seq order: a later seq was never
    # tried while an earlier one waited for its retry.
    for which in (room, other):
        tried = seqs_of([r.json for r in receiver.requests], which)
        assert tried == sorted(tried)
    retried = WebhookDelivery.objects.filter(attempts__gt=1)
    assert retried.exists()
    # The same delivery id on every attempt of one delivery (receivers dedupe by it).
    ids = {r.headers[signing.ID_HEADER] for r in receiver.requests if r.json["seq"] == 1}
    assert len(ids) == 2  # one per room, however many attempts


def test_after_the_retry_bound_a_delivery_is_failed_and_the_room_moves_on(
    receiver, support_admin, customer, settings
):
    settings.WEBHOOK_RETRY_HOURS = 0.3 / 3600  # 0.3 s
    receiver.answer = lambda n: 500 if n < 1000 else 200
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    send(room, customer, "one")
    send(room, customer, "two")
    run_until(lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count() == 2)
    failed = list(WebhookDelivery.objects.order_by("seq"))
    assert [d.seq for d in failed] == [1, 2]
    assert all(d.last_status_code == 500 and d.attempts >= 1 for d in failed)
    assert "HTTP 500" in failed[0].last_error
    # seq 2 was tried only once seq 1 had failed for good.
    tried = [r.json["seq"] for r in receiver.requests]
    assert tried == sorted(tried)


def test_an_endpoint_failing_long_is_paused_and_resuming_continues_from_its_cursor(
    receiver, closed_url, support_admin, customer, settings, api
):
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    created = register(support_admin, closed_url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    send(room, customer, "lost?")
    run_until(lambda: WebhookEndpoint.objects.get(pk=created["id"]).status == "paused")
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert "3 failed attempts in a row" in endpoint.paused_reason
    api.force_login(support_admin)
    shown = api.get(f"/api/admin/webhooks/{created['id']}").json()
    assert (shown["status"], shown["paused_reason"]) == ("paused", endpoint.paused_reason)
    assert shown["deliveries"]["pending"] == 1

    # While paused: nothing is tried, the outbox does not move for it.
    attempts = WebhookDelivery.objects.get().attempts
    send(room, customer, "while paused")
    for _ in range(3):
        worker.webhooks_tick()
    assert WebhookDelivery.objects.get().attempts == attempts
    assert WebhookDelivery.objects.count() == 1

    # Fixed and resumed: both messages arrive, in order.
    api.patch(f"/api/admin/webhooks/{created['id']}", {"url": receiver.url})
    resumed = api.post(f"/api/admin/webhooks/{created['id']}/resume")
    assert (resumed.status_code, resumed.json()["status"]) == (200, "active")
    run_until(lambda: len(receiver.delivered()) == 2)
    assert [b["data"]["message"]["text"] for b in receiver.delivered()] == ["lost?", "while paused"]


@pytest.mark.parametrize("where", ["slow", "silent", "closed"])
def test_slow_silent_and_closed_receivers_fail_within_the_timeout(
    where, receiver, silent_url, closed_url, support_admin, customer
):
    receiver.answer = lambda n: "slow"
    url = {"slow": receiver.url, "silent": silent_url, "closed": closed_url}[where]
    register(support_admin, url, kinds=[WebhookKind.MESSAGE_CREATED])
    send(room_open(customer), customer, "hello")
    started = time.monotonic()
    run_until(lambda: WebhookDelivery.objects.filter(attempts__gte=1).exists())
    assert time.monotonic() - started < 10  # bounded: nothing hangs on a bad endpoint
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING  # to be retried
    assert delivery.last_status_code is None
    if where == "closed":
        assert "refused" in delivery.last_error.lower()
    else:
        assert "timed out" in delivery.last_error


def test_redeliver_sends_again_with_the_same_delivery_id(receiver, support_admin, customer, api):
    created = register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    send(room_open(customer), customer, "again")
    run_until(lambda: len(receiver.delivered()) == 1)
    [delivery] = deliveries_of(created)  # in a sent row: delivered at the first attempt
    api.force_login(support_admin)
    answer = api.post(f"/api/admin/webhooks/deliveries/{delivery['id']}/redeliver")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["attempts"]) == ("pending", 0)
    run_until(lambda: len(receiver.delivered()) == 2)
    first, second = receiver.requests
    assert first.headers[signing.ID_HEADER] == second.headers[signing.ID_HEADER]
    assert first.body == second.body
    # Queued again in the outbox: a pending one cannot be queued twice, by either id.
    queued = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=queued.pk).update(status=DeliveryStatus.PENDING)
    for delivery_id in (queued.pk, delivery["id"]):
        again = api.post(f"/api/admin/webhooks/deliveries/{delivery_id}/redeliver")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")


def test_a_test_event_goes_out(receiver, support_admin):
    created = register(support_admin, receiver.url)
    services.endpoint_send_test(actor=support_admin, endpoint_id=created["id"])
    run_until(lambda: len(receiver.delivered()) == 1)
    assert receiver.delivered()[0]["kind"] == "webhook.test"


# --- what each endpoint may see --------------------------------------------------------------


def test_scope_decides_what_is_sent_as_the_renderer_does(receiver, support_admin, customer, agent):
    customer_side = register(support_admin, receiver.url + "?c", scope="customer")
    staff_side = register(support_admin, receiver.url + "?s", scope="staff")
    room = room_with_agent(customer, agent)
    send(room, customer, "hi")
    chat_services.note_add(room_id=str(room.pk), author=agent, text="zebrafish-private")
    chat_services.room_tag(room_id=str(room.pk), actor=agent, tag="vip")
    chat_services.room_close(room_id=str(room.pk), actor=agent)
    chat_services.room_rate(room_id=str(room.pk), customer=customer, score=5)
    run_until(lambda: pending() == 0 and len(receiver.delivered()) >= 7)
    worker.webhooks_tick()

    def bodies(endpoint):
        rows = [d for d in deliveries_of(endpoint) if d["status"] == "delivered"]
        return sorted((d["payload"] for d in rows), key=lambda b: b["seq"])

    for_customer, for_staff = bodies(customer_side), bodies(staff_side)
    assert [b["kind"] for b in for_customer] == ["room.created", "message.created", "room.closed"]
    assert [b["kind"] for b in for_staff] == [
        "room.created",
        "message.created",
        "room.closed",
        "room.rated",
    ]
    assert for_staff[-1]["data"]["rating"]["score"] == 5
    # Staff-only fields: the room's tags are the staff's, never in a customer's payload.
    assert "tags" not in for_customer[2]["data"]["room"]
    assert for_staff[2]["data"]["room"]["tags"] == ["vip"]
    everything = str([r.body for r in receiver.requests])
    assert "zebrafish-private" not in everything  # a note is no webhook kind at all


def test_a_team_endpoint_gets_only_its_teams_rooms(
    receiver, support_admin, customer, other_customer
):
    team = Team.objects.create(name="billing")
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED], team_id=str(team.pk))
    ours = room_open(customer)
    Room.objects.filter(pk=ours.pk).update(team_id=team.pk)
    theirs = room_open(other_customer)
    send(ours, customer, "billing question")
    send(theirs, other_customer, "general question")
    run_until(lambda: len(receiver.delivered()) == 1)
    for _ in range(3):
        worker.webhooks_tick()
    assert [b["room_id"] for b in receiver.delivered()] == [str(ours.pk)]


# --- the cursor's edges ----------------------------------------------------------------------


def test_a_row_stored_after_rows_with_later_ids_is_still_delivered(
    receiver, support_admin, customer, other_customer, monkeypatch
):
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    late_room = room_open(customer)
    other = room_open(other_customer)
    send(late_room, customer, "first")
    run_until(lambda: len(receiver.delivered()) == 1)
    time.sleep(1.1)  # ids hold whole seconds: the next scan starts past the rooms' own ids
    worker.webhooks_tick()  # scanned_to is now past everything stored so far
    send(other, other_customer, "newer id")
    # The writer picks a message's id before its round stores it: this one was picked
    # 10 s ago, before the other room's message and before the outbox's last scan.
    import chat.services.messages as messages_module

    early = ObjectId.from_datetime(timezone.now() - timedelta(seconds=10))
    monkeypatch.setattr(messages_module, "ObjectId", lambda: early)
    send(late_room, customer, "older id, stored later")
    monkeypatch.undo()
    assert RoomEvent.objects.get(pk=early).seq == 2
    assert early < RoomEvent.objects.filter(room_id=other.pk).get().pk
    run_until(lambda: len(receiver.delivered()) == 3)
    assert seqs_of(receiver.delivered(), late_room) == [1, 2]


def test_a_missing_seq_holds_the_room_until_its_row_is_stored(receiver, support_admin, customer):
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    taken = seq_taken_without_event(room)  # seq 1: its round is still on its way
    send(room, customer, "two")
    for _ in range(3):
        worker.webhooks_tick()
    assert receiver.requests == []  # seq 2 waits for seq 1
    late = RoomEvent(room_id=room.pk, seq=taken, kind=EventKind.MESSAGE, actor=customer, text="one")
    assert isinstance(timeline_writer().submit(Place(event=late)), Placed)
    run_until(lambda: len(receiver.delivered()) == 2)
    assert [b["data"]["message"]["text"] for b in receiver.delivered()] == ["one", "two"]


def test_a_settled_hole_is_stepped_over(receiver, support_admin, customer, settings):
    settings.CHAT_HOLE_SETTLE_SECONDS = 0
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    seq_taken_without_event(room)
    send(room, customer, "after the hole")
    run_until(lambda: len(receiver.delivered()) == 1)
    assert receiver.delivered()[0]["seq"] == 2


def test_two_workers_never_enqueue_or_send_twice(receiver, support_admin, customer):
    import threading

    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    for n in range(10):
        send(room, customer, f"m{n}")
    # Two ticks at once (two processes): one holds the scan, the other only sends what is
    # due again. (The tick lock is per process: bypass it.)
    barrier = threading.Barrier(2)

    def tick(holder):
        barrier.wait()
        worker.run_tick(holder=holder)

    threads = [threading.Thread(target=tick, args=(name,)) for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_until(lambda: pending() == 0 and len(receiver.delivered()) == 10)
    assert recorded() == 10
    assert seqs_of(receiver.delivered(), room) == list(range(1, 11))


def lapse_the_scan_lock() -> None:
    """As if its holder had died: the lock's time is up."""
    WebhookScanLock.objects.update(until=timezone.now() - timedelta(seconds=1))


def test_sent_but_not_recorded_goes_again_with_the_same_id(receiver, support_admin, customer):
    """A crash between sending and recording: the next holder of the scan sends those
    again, with the ids the receiver has seen, and records each once."""
    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    for n in range(3):
        send(room, customer, f"m{n}")
    from integrations import outbox, scanner

    assert scanner.take("crashes", now=timezone.now(), seconds=30) is not None
    scan = outbox.outbox_scan()
    worker.deliveries_send_due(fresh=scan.deliveries)  # sent; the process dies here
    assert len(receiver.delivered()) == 3
    assert recorded() == 0
    scanner.forget("crashes")  # the process is gone, with what it remembered
    outbox._unwritten.clear()
    worker.run_tick(holder="next")  # the dead one's lock has not lapsed: no scan yet
    assert len(receiver.requests) == 3
    lapse_the_scan_lock()
    run_until(lambda: len(receiver.delivered()) == 6, holder="next")
    first, again = receiver.requests[:3], receiver.requests[3:]
    ids = [r.headers["X-Webhook-Id"] for r in first]
    assert [r.headers["X-Webhook-Id"] for r in again] == ids
    stored = [e["delivery_id"] for row in WebhookSentRow.objects.all() for e in row.sent.values()]
    assert sorted(stored) == sorted(ids)
    assert recorded() == 3


def test_a_new_holder_of_the_scan_does_not_send_again_what_is_recorded(
    receiver, support_admin, customer
):
    """The previous holder recorded its sends but died before writing its cursors (they
    are written every tenth scan): the next one looks the recorded ones up first."""
    from integrations import outbox, scanner

    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    for n in range(3):
        send(room, customer, f"m{n}")
    run_until(lambda: len(receiver.delivered()) == 3)
    WebhookRoomCursor.objects.all().delete()
    outbox._unwritten.clear()
    scanner.forget(worker.WORKER_ID)
    lapse_the_scan_lock()
    send(room, customer, "after the takeover")
    run_until(lambda: len(receiver.delivered()) == 4, holder="next")
    assert len(receiver.requests) == 4
    assert seqs_of(receiver.delivered(), room) == [1, 2, 3, 4]
    assert recorded() == 4


def test_nothing_on_the_send_path_touches_webhooks(receiver, support_admin, customer, agent):
    """Sending costs the same with endpoints registered: no query per endpoint (the
    outbox reads the stored rows later)."""
    room = room_with_agent(customer, agent)
    send(room, customer, "warm")
    import contextlib

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_of_a_send() -> int:
        with contextlib.ExitStack() as stack:
            captured = stack.enter_context(CaptureQueriesContext(connection))
            send(room, customer, "x")
        return len(captured.captured_queries)

    before = queries_of_a_send()
    for n in range(10):
        register(support_admin, f"{receiver.url}?{n}")
    assert queries_of_a_send() == before
    assert recorded() == 0  # nothing was enqueued by the send


def test_old_finished_deliveries_are_purged_pending_ones_kept(
    receiver, support_admin, customer, monkeypatch
):
    from chat_project import mongo
    from integrations import outbox

    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    send(room, customer, "old")
    send(room, customer, "recent")
    run_until(lambda: len(receiver.delivered()) == 2)
    long_ago = timezone.now() - timedelta(days=30)
    # Seq 1's sent row as if recorded a month ago (rows go by their ids' time).
    rows = mongo.collection(WebhookSentRow)
    old_row = rows.find_one_and_delete({"seq": 1})
    rows.insert_one({**old_row, "_id": ObjectId.from_datetime(long_ago)})
    # In the outbox, a month old: one delivered (goes), one still pending (stays).
    endpoint = WebhookEndpoint.objects.get()
    for seq, status in ((10, DeliveryStatus.DELIVERED), (11, DeliveryStatus.PENDING)):
        kind = WebhookKind.MESSAGE_CREATED
        outbox.enqueue(endpoint, kind=kind, room_id=room.pk, seq=seq, created_at=None, data={})
        WebhookDelivery.objects.filter(seq=seq).update(next_attempt_at=long_ago, status=status)
    monkeypatch.setattr(worker, "_purged_at", 0.0)
    assert worker._purge_old(timezone.now()) == 2
    assert list(WebhookDelivery.objects.values_list("seq", flat=True)) == [11]
    assert [row.seq for row in WebhookSentRow.objects.all()] == [2]


async def test_the_gateways_periodic_hook_delivers_off_the_event_loop(
    receiver, support_admin, customer
):
    """What the gateway registers (``WEBHOOKS_IN_GATEWAY``): the tick on its own thread."""
    import asyncio

    from asgiref.sync import sync_to_async

    from integrations import async_services

    await sync_to_async(register)(support_admin, receiver.url, [WebhookKind.MESSAGE_CREATED])
    room = await sync_to_async(room_open)(customer)
    await sync_to_async(send)(room, customer, "via the gateway")
    for _ in range(50):
        await async_services.webhooks_tick()
        if receiver.delivered():
            break
        await asyncio.sleep(0.02)
    assert [b["data"]["message"]["text"] for b in receiver.delivered()] == ["via the gateway"]


def test_an_sla_breach_goes_to_staff_endpoints_that_want_it_a_nearing_flag_to_none(
    receiver, support_admin, customer, agent
):
    from chat.services import sla

    wanted = [WebhookKind.SLA_BREACHED]
    staff_side = register(support_admin, receiver.url + "?s", kinds=wanted, scope="staff")
    customer_side = register(support_admin, receiver.url + "?c", kinds=wanted, scope="customer")
    room = room_with_agent(customer, agent)
    due = timezone.now() + timedelta(minutes=1)
    for state in (sla.NEARING, sla.BREACHED):
        room = Room.objects.get(pk=room.pk)
        assert sla.room_sla_mark(
            room=room, target=sla.FIRST_RESPONSE, state=state, due_at=due, team_id=None
        )
    run_until(lambda: pending() == 0 and len(receiver.delivered()) >= 1)
    worker.webhooks_tick()

    sent = deliveries_of(staff_side)
    assert [(d["kind"], d["status"]) for d in sent] == [("sla.breached", "delivered")]
    [payload] = [d["payload"] for d in sent]
    assert (payload["data"]["target"], payload["data"]["state"]) == ("first_response", "breached")
    # SLA flags are the staff's: the renderer shows a customer's audience nothing of them.
    assert deliveries_of(customer_side) == []


def test_the_workers_reads_are_index_shaped(receiver, support_admin, customer, monkeypatch):
    """Every read of a tick over a growing collection, the takeover lookup included, is
    served by an index (``chat_project.mongo``: the embedded server scans otherwise)."""
    from chat.tests.test_query_shapes import first_stages, not_served
    from integrations import outbox, scanner

    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)
    for n in range(3):
        send(room, customer, f"m{n}")
    with first_stages(monkeypatch) as seen:
        run_until(lambda: len(receiver.delivered()) == 3)
        outbox._unwritten.clear()
        scanner.forget(worker.WORKER_ID)
        send(room, customer, "after")
        run_until(lambda: len(receiver.delivered()) == 4)  # a new hold: drop_recorded reads
    # The endpoints themselves are read whole: an admin registers a handful.
    reads = [(c, m) for c, m in seen if c.name != WebhookEndpoint._meta.db_table]
    tables = {"chat_roomevent", "integrations_webhookdelivery", "integrations_webhooksentrow"}
    assert {c.name for c, _ in reads} >= tables
    assert not_served(reads) == []


def test_the_holder_reads_a_rooms_cursors_once_per_hold(
    receiver, support_admin, customer, monkeypatch
):
    """Only the holder of the scan moves cursors, so it reads each room's once and then
    remembers them; a new hold (another holder may have moved them) reads them again."""
    from chat.tests.test_query_shapes import first_stages
    from integrations import scanner

    register(support_admin, receiver.url, kinds=[WebhookKind.MESSAGE_CREATED])
    room = room_open(customer)

    def cursor_reads(seen) -> int:
        return sum(1 for c, _ in seen if c.name == WebhookRoomCursor._meta.db_table)

    with first_stages(monkeypatch) as seen:
        for n in range(3):
            send(room, customer, f"m{n}")
            run_until(lambda n=n: len(receiver.delivered()) == n + 1)
        assert cursor_reads(seen) == 1
        scanner.forget(worker.WORKER_ID)  # the hold broken: what was remembered is stale
        send(room, customer, "after")
        run_until(lambda: len(receiver.delivered()) == 4)
        assert cursor_reads(seen) == 2
    assert seqs_of(receiver.delivered(), room) == [1, 2, 3, 4]


def test_a_row_recorded_again_merges_its_endpoints_into_one_sent_row(
    receiver, support_admin, customer
):
    """Sent again after a crash (the unique (room, seq, kind) index): the row's second
    record adds its endpoints to the first, whatever their scope."""
    from integrations import outbox

    customer_side = register(support_admin, receiver.url + "?c", scope="customer")
    staff_side = register(support_admin, receiver.url + "?s", scope="staff")
    room = room_open(customer)
    send(room, customer, "once")
    endpoints = {e.pk: e for e in WebhookEndpoint.objects.all()}
    scopes = {pk: e.scope for pk, e in endpoints.items()}
    scan = outbox.outbox_scan()
    message = [d for d in scan.deliveries if d.kind == WebhookKind.MESSAGE_CREATED]
    for delivery in message:
        delivery.status, delivery.attempts, delivery.last_status_code = "delivered", 1, 200
    by_scope = {scopes[d.endpoint_id]: d for d in message}
    outbox.record_sent_rows([by_scope["customer"]], scopes=scopes)
    outbox.record_sent_rows([by_scope["staff"], by_scope["customer"]], scopes=scopes)

    [row] = WebhookSentRow.objects.filter(kind=WebhookKind.MESSAGE_CREATED)
    assert set(row.sent) == {customer_side["id"], staff_side["id"]}
    assert set(row.bodies) == {"customer", "staff"}
    for endpoint, delivery in (
        (customer_side, by_scope["customer"]),
        (staff_side, by_scope["staff"]),
    ):
        [listed] = [d for d in deliveries_of(endpoint) if d["kind"] == "message.created"]
        assert listed["payload"] == delivery.payload


@pytest.mark.parametrize(
    ("model", "index"),
    [
        (WebhookDelivery, "integrations_delivery_once"),
        (WebhookSentRow, "integrations_sentrow_once"),
        (WebhookRoomCursor, "integrations_cursor_room"),
    ],
)
def test_the_outboxs_unique_indexes_hold_for_every_document(model, index):
    """Not partial: the backend's unique constraints are partial on each field's $type
    (``long`` for an integer, which a seq stored as int32 never matched), and a query
    that does not imply the filter cannot use them (mongod's partial index rule)."""
    from chat_project import mongo

    info = mongo.collection(model).index_information()[index]
    assert info["unique"]
    assert "partialFilterExpression" not in info


def test_a_delivery_is_enqueued_once(support_admin, customer):
    created = register(support_admin, "https://hooks.example.com/in")
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    room = room_open(customer)
    from integrations import outbox

    kind = WebhookKind.MESSAGE_CREATED
    first = outbox.enqueue(endpoint, kind=kind, room_id=room.pk, seq=1, created_at=None, data={})
    again = outbox.enqueue(endpoint, kind=kind, room_id=room.pk, seq=1, created_at=None, data={})
    assert (first, again) == (True, False)
    assert WebhookDelivery.objects.count() == 1
