"""Every request answered within its bound, counted from its own arrival (issue 28, item
1; ``chat_project.deadlines``): a socket's frames queued behind one that waits for a
stalled database, a REST request, a handshake. (The database really stopped, SIGSTOP,
under a running server: ``tests/faults/test_faults.py``.)"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from asgiref.sync import sync_to_async

from chat.models import RoomEvent
from chat.tests import test_consumers
from chat_project.asgi import application

# The gateway tests' fixtures (a socket per user; alice's room with agent1).
connect, room, rid = test_consumers.connect, test_consumers.room, test_consumers.rid
ORIGIN, _cookie = test_consumers.ORIGIN, test_consumers._cookie

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 0.4


@pytest.fixture
def short_bound(settings):
    settings.MONGODB_TIMEOUT_MS = int(BOUND * 1000)
    settings.MONGODB_WRITE_TIMEOUT_SECONDS = BOUND
    settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST = 1000, 1000


async def test_frames_queued_behind_a_stalled_write_are_answered_at_their_own_deadline(
    stalled_database,
    short_bound,
    connect,
    room,
    customer,
):
    """Regression: a socket's frames are handled one at a time, so a frame sent behind a
    send that waited for the database was answered only after it, each a bound later
    (3.8-5.0 s against a bound of 2 s); nothing past its deadline may be stored later."""
    alice = await connect(customer)
    await alice.request("join-room", {"room_id": rid(room)})
    sent_at = {}
    for n in range(4):
        sent_at[f"m{n}"] = time.monotonic()
        await alice.send(
            "send-message",
            {"room_id": rid(room), "client_msg_id": f"m{n}", "text": f"#{n}"},
            ack=f"m{n}",
        )
    waited = {}
    for _ in range(4):
        frame = await alice.expect("error", within=5)
        assert frame["data"]["code"] == "service_unavailable"
        waited[frame["ack"]] = time.monotonic() - sent_at[frame["ack"]]
    assert max(waited.values()) < BOUND + 0.35, waited
    stalled_database()  # the first send's round goes through, late
    await asyncio.sleep(0.5)
    stored = await sync_to_async(
        lambda: sorted(e.client_msg_id for e in RoomEvent.objects.filter(room_id=room.pk))
    )()
    assert stored in ([], ["m0"])  # a queued change past its deadline never was


async def test_rest_requests_waiting_for_the_database_or_a_thread_are_503_in_their_bound(
    stalled_database,
    short_bound,
    room,
    customer,
):
    cookie = (await sync_to_async(_cookie)(customer)).decode()
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.cookies.set("sessionid", cookie.split("=", 1)[1])
        token = (await client.get("/api/auth/csrf")).json()["csrfToken"]
        started = time.monotonic()
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/api/chat/rooms/{rid(room)}/messages",
                    json={"client_msg_id": f"r{n}", "text": "hi"},
                    headers={"X-CSRFToken": token, "Origin": "http://testserver"},
                )
                for n in range(20)  # more than HTTP_THREADS: some wait for a thread
            )
        )
        took = time.monotonic() - started
    assert [a.status_code for a in answers] == [503] * 20
    assert {json.loads(a.content)["error"]["code"] for a in answers} == {"service_unavailable"}
    assert took < BOUND + 0.6, took


async def test_a_handshake_whose_session_read_stalls_is_refused_busy_within_the_bound(
    short_bound, customer, monkeypatch
):
    from channels.testing import WebsocketCommunicator

    from accounts import async_services as accounts_async

    async def stalled(**kwargs):
        await asyncio.sleep(10)

    monkeypatch.setattr(accounts_async, "socket_user", stalled)
    headers = [ORIGIN, (b"cookie", await sync_to_async(_cookie)(customer))]
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    started = time.monotonic()
    connected, _ = await comm.connect(timeout=5)
    assert connected
    closed = await comm.receive_output(5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4013)
    assert time.monotonic() - started < BOUND + 0.6
    await comm.disconnect()
