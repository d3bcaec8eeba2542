"""A process that drains (issue 17, ``chat_project.drain``), through the whole ASGI stack
with Channels' communicator: the frames it had read are answered, the ones that arrive
after are refused, the sockets close with 1012, their presence leases keep the drain's
grace; and the timeline writer's ``wait_idle``. The real process (SIGTERM, HAProxy,
ledger clients) is ``tests/faults/test_drain.py``."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from accounts import presence
from chat.tests.test_consumers import connect, rid, room  # noqa: F401  (fixtures)
from chat.writer import TimelineWriter, timeline_writer
from chat_project import drain
from chat_project.errors import ServiceUnavailable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def draining_state(monkeypatch, settings):
    """The process-wide drain state, put back afterwards."""
    monkeypatch.setattr(drain, "_draining", False)
    monkeypatch.setattr(drain, "_started_at", 0.0)
    settings.DRAIN_SECONDS = 5
    settings.WS_PRESENCE_GRACE_SECONDS = 0.1
    settings.WS_DRAIN_PRESENCE_GRACE_SECONDS = 5
    return drain


@pytest.fixture
def slow_rounds(monkeypatch):
    """Each timeline-writer round takes 0.3 s longer: a send is in flight for a while."""
    original = TimelineWriter._round

    def slow(self, items):
        time.sleep(0.3)
        return original(self, items)

    monkeypatch.setattr(TimelineWriter, "_round", slow)


async def test_a_drain_answers_what_was_read_refuses_the_rest_and_closes_with_1012(
    connect,  # noqa: F811
    room,  # noqa: F811
    customer,
    agent,
    draining_state,
    slow_rounds,
    settings,
):
    settings.WS_RECEIPT_COALESCE_SECONDS = 30  # a receipt waits for its timer...
    alice = await connect(customer)
    agent1 = await connect(agent)
    for sock in (alice, agent1):
        await sock.request("join-room", {"room_id": rid(room)})
    await agent1.send("message-read", {"room_id": rid(room), "up_to_seq": 0}, ack="receipt")
    await alice.send(
        "send-message", {"room_id": rid(room), "client_msg_id": "m1", "text": "hi"}, ack="sent"
    )
    await asyncio.sleep(0.1)  # the send is in the writer's (slow) round

    draining = asyncio.create_task(drain.drain_sockets())
    await asyncio.sleep(0.05)
    await alice.send(
        "send-message", {"room_id": rid(room), "client_msg_id": "m2", "text": "late"}, ack="late"
    )
    report = await draining

    assert (await alice.expect("ack", lambda f: f["ack"] == "sent"))["data"]["message"]["seq"] == 1
    refused = await alice.expect("error", lambda f: f["ack"] == "late")
    assert refused["data"]["code"] == "service_unavailable"
    # ...and is written and acknowledged by the drain, not lost with the socket
    assert (await agent1.expect("ack", lambda f: f["ack"] == "receipt"))["data"]
    assert await alice.closed() == 1012
    assert await agent1.closed() == 1012
    assert report["unfinished_frames"] == 0
    assert report["sockets"] == 2

    # The leases keep the drain's grace (5 s here), not the usual 0.1 s.
    await alice.disconnect()
    await asyncio.sleep(0.5)
    assert await presence.ais_online(str(customer.pk))
    from chat.models import RoomEvent

    messages = await asyncio.to_thread(
        lambda: RoomEvent.objects.filter(room_id=room.pk, kind="message").count()
    )
    assert messages == 1  # "late" was not run


async def test_a_handshake_while_draining_is_closed_with_1012(
    connect,  # noqa: F811
    customer,
    draining_state,
):
    drain.begin()
    sock = await connect(customer)
    assert await sock.closed() == 1012
    assert not await presence.ais_online(str(customer.pk))  # nothing was read or written


def test_health_says_draining(client, draining_state):
    drain.begin()
    reply = client.get("/api/health")
    assert (reply.status_code, reply.json()["status"]) == (503, "draining")


def test_wait_idle_waits_for_the_queue_and_the_round_in_flight(monkeypatch):
    writer = TimelineWriter()
    assert writer.wait_idle(0.1) is True  # nothing ever submitted
    gate = threading.Event()

    def blocked_round(items):
        gate.wait(5)
        for item in items:
            item.finish(ServiceUnavailable("test"))
        return []

    monkeypatch.setattr(writer, "_round", blocked_round)
    outcomes: list[BaseException] = []

    def submit() -> None:
        try:
            writer.submit(object(), timeout=5)
        except ServiceUnavailable as exc:
            outcomes.append(exc)

    caller = threading.Thread(target=submit)
    caller.start()
    time.sleep(0.1)
    assert writer.pending() == 0  # taken by the writer thread: in flight
    assert writer.wait_idle(0.2) is False
    gate.set()
    assert writer.wait_idle(2) is True
    caller.join(5)
    assert len(outcomes) == 1
    assert timeline_writer().wait_idle(1) is True
