"""One body for sends and receipts, two drivers (chat.writer.steps): the gateway's runs
them on its event loop and awaits the writer there, taking a database thread only from
the first step that must read."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from asgiref.sync import sync_to_async

from chat import async_services, services, writer
from chat.models import RoomEvent
from chat.tests.factories import room_with_agent
from chat.writer import steps
from chat_project import hops
from chat_project.errors import PermissionDenied, ServiceUnavailable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_fan_out(monkeypatch):
    """These tests are about the write; its events would be published on the test's
    loop, and a publish still on its way when pytest closes that loop hung its teardown
    (seen once in CI). Fan-out has its own tests (test_consumers, tests/e2e)."""
    from chat_project import fanout

    monkeypatch.setattr(fanout, "publish", lambda *args, **kwargs: None)


@pytest.fixture
def room(customer, agent):
    writer.timeline_writer().rooms.clear()
    return room_with_agent(customer, agent)


@pytest.fixture
def hops_taken(monkeypatch):
    """How many database hops were submitted."""
    taken = []
    submit = hops._pool.submit

    def counted(*args, **kwargs):
        taken.append(args[0])
        return submit(*args, **kwargs)

    monkeypatch.setattr(hops._pool, "submit", counted)
    return taken


def timeline(room) -> list[tuple[int, str, str]]:
    rows = RoomEvent.objects.filter(room=room).order_by("seq")
    return [(e.seq, e.kind, e.text) for e in rows]


async def test_a_socket_send_and_receipt_take_no_database_thread(room, customer, agent, hops_taken):
    message = await async_services.message_send(
        room_id=str(room.pk), sender=customer, client_msg_id="m1", text="hello", known_seq=0
    )
    receipt = await async_services.receipt_marks_advance(
        room_id=str(room.pk), user=agent, delivered=1, read=1
    )
    assert (message["seq"], message["status"]) == (1, "sent")
    assert (receipt["last_read_seq"], receipt["moved"]) == (1, True)
    assert hops_taken == []
    assert await sync_to_async(timeline)(room) == [(1, "message", "hello")]


async def test_both_drivers_leave_the_same_timeline_and_a_retry_takes_no_seq(
    room, customer, hops_taken
):
    rest = await sync_to_async(services.message_send_or_replay)(
        room_id=str(room.pk), sender=customer, client_msg_id="a", text="one"
    )
    socket = await async_services.message_send(
        room_id=str(room.pk), sender=customer, client_msg_id="b", text="two", known_seq=1
    )
    # A socket's retry of the REST send: the writer finds its key, and the rest of the
    # body (reading the stored message) runs on a database thread.
    retry = await async_services.message_send(
        room_id=str(room.pk), sender=customer, client_msg_id="a", text="one", known_seq=2
    )
    assert (rest[0]["seq"], rest[1], socket["seq"], retry["seq"]) == (1, True, 2, 1)
    assert retry["id"] == rest[0]["id"]
    assert len(hops_taken) == 1
    assert await sync_to_async(timeline)(room) == [(1, "message", "one"), (2, "message", "two")]


async def test_a_refusal_that_needs_a_read_is_answered_from_a_database_thread(
    room, support_admin, hops_taken
):
    with pytest.raises(PermissionDenied):
        await async_services.message_send(
            room_id=str(room.pk), sender=support_admin, client_msg_id="x", text="no"
        )
    assert len(hops_taken) == 1
    assert await sync_to_async(timeline)(room) == []


async def test_the_steps_before_in_thread_run_on_the_loop_and_the_rest_on_a_thread():
    seen = []

    def body():
        seen.append(threading.current_thread())
        yield steps.IN_THREAD
        seen.append(threading.current_thread())
        return "done"

    assert await steps.arun(body()) == "done"
    assert seen[0] is threading.current_thread()
    assert seen[1] is not threading.current_thread()


async def test_a_socket_waits_at_most_the_write_timeout(stalled_database, room, customer):
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailable):
            await async_services.message_send(
                room_id=str(room.pk), sender=customer, client_msg_id="slow", text="hi"
            )
        assert time.monotonic() - started < 1.5
    finally:
        stalled_database()
    # Written late: the retry finds it, at the same seq.
    again = await async_services.message_send(
        room_id=str(room.pk), sender=customer, client_msg_id="slow", text="hi"
    )
    assert again["seq"] == 1
    assert await sync_to_async(timeline)(room) == [(1, "message", "hi")]


async def test_a_cancelled_socket_send_is_still_written(room, customer):
    """A socket that closes while its send is in the writer does not stop the write."""
    import asyncio

    task = asyncio.get_running_loop().create_task(
        async_services.message_send(
            room_id=str(room.pk), sender=customer, client_msg_id=uuid.uuid4().hex, text="bye"
        )
    )
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await sync_to_async(writer.timeline_writer().wait_idle)(5)
    assert await sync_to_async(timeline)(room) == [(1, "message", "bye")]
