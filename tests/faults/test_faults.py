"""Faults under a running server, with ledger clients (``tests.faults.ledger``): the
database killed right after acknowledgements, the database stopped, Valkey stopped.
Real processes throughout: daphne, an on-disk SecantusDB, Valkey.

An acknowledged message must survive all of it exactly once, at the seq it was
acknowledged with, in a timeline without holes; a client must never wait longer than
the configured bound (``MONGODB_TIMEOUT_MS``, 2 s here) for an answer."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.faults.ledger import Ledger, check_against_database

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

BOUND = 2.0  # MONGODB_TIMEOUT_MS of the fault stack
SLACK = 1.5  # a frame's way through the gateway and a loaded two-core machine

# What each run measured, for the notes: pytest --log-cli-level=INFO tests/faults
figures = logging.getLogger("tests.faults.figures")


async def ledgers_for(stack, index: int) -> list[Ledger]:
    room_id, customer, agent = stack.room(index)
    ledgers = [
        Ledger(user["username"], stack.server.ws_url, user["cookie"], room_id, user["id"])
        for user in (customer, agent)
    ]
    for ledger in ledgers:
        await ledger.connect()
    return ledgers


async def settle_and_check(stack, ledgers: list[Ledger]) -> None:
    """Every outbox flushed; then a replay from 0, which fills settled holes
    (CHAT_HOLE_SETTLE_SECONDS: 0.5 s here); then the database checked."""
    for ledger in ledgers:
        await ledger.flush()
    await asyncio.sleep(0.6)
    reply = await ledgers[0].client.request(
        "join-room", {"room_id": ledgers[0].room_id, "after_seq": 0}
    )
    assert reply["event"] == "ack", reply
    await asyncio.sleep(0.3)
    check_against_database(stack.database.client(), ledgers[0].room_id, ledgers)
    assert "timeline writer round failed" not in stack.server.log()


async def test_acknowledged_messages_survive_kill_9_of_the_database(stack):
    ledgers = await ledgers_for(stack, 0)
    runs = int(os.environ.get("FAULT_KILL_RUNS", "10"))
    rng = random.Random(1201)
    try:
        for _run in range(runs):
            killed = asyncio.Event()
            kill_after = rng.randint(2, 10)
            acks = 0

            async def chat(ledger: Ledger, killed=killed, kill_after=kill_after) -> None:
                nonlocal acks
                while not killed.is_set():
                    reply = await ledger.send(ledger.write())
                    if reply["event"] == "ack":
                        acks += 1
                        if acks >= kill_after and not killed.is_set():
                            stack.database.kill()  # right after this acknowledgement
                            killed.set()

            await asyncio.gather(*(chat(ledger) for ledger in ledgers))
            # On this thread: the server dies with the thread that started it
            # (PR_SET_PDEATHSIG), and an executor's thread ends with the test's loop.
            stack.database.restart()
            for ledger in ledgers:  # what was refused meanwhile goes again
                await ledger.flush()
        await settle_and_check(stack, ledgers)
        acked = sum(len(ledger.acked) for ledger in ledgers)
        assert acked >= runs * 2
        figures.info(f"{runs} kills of the database, {acked} acked messages, all present")
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_a_stopped_database_is_an_error_within_the_bound_and_loses_nothing(stack):
    ledgers = await ledgers_for(stack, 1)
    try:
        for ledger in ledgers:
            assert (await ledger.send(ledger.write()))["event"] == "ack"
        stack.database.pause()
        stopped = time.monotonic()
        try:
            async with httpx.AsyncClient(base_url=stack.server.http_url) as http:
                started = time.monotonic()
                health = await http.get("/api/health", timeout=10)
                took = time.monotonic() - started
            assert health.status_code == 503
            assert health.json()["checks"]["database"] != "ok"
            assert took < 2.0, took  # HEALTH_TIMEOUT_SECONDS is 1.5

            async def send_while_stopped(ledger: Ledger) -> None:
                while time.monotonic() - stopped < 10:
                    reply = await ledger.send(ledger.write(), within=BOUND + 10)
                    assert reply["event"] == "error", reply
                    assert reply["data"]["code"] == "service_unavailable", reply

            await asyncio.gather(*(send_while_stopped(ledger) for ledger in ledgers))
        finally:
            stack.database.resume()
        resumed = time.monotonic()
        waits = [took for ledger in ledgers for took, _code in ledger.errors]
        assert waits
        assert max(waits) < BOUND + SLACK, waits

        # Recovery: a new message is acknowledged within 1 s of the database's return.
        ledger = ledgers[0]
        while True:
            reply = await ledger.send(ledger.write(), within=5)
            if reply["event"] == "ack":
                break
            await asyncio.sleep(0.05)
        recovered = time.monotonic() - resumed
        assert recovered < 1.0, recovered
        await settle_and_check(stack, ledgers)
        figures.info(
            f"database stopped 10 s: health 503 in {took:.2f} s, {len(waits)} sends "
            f"refused within {min(waits):.2f}-{max(waits):.2f} s, an ack {recovered:.2f} s "
            "after it resumed"
        )
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_a_stopped_valkey_delays_deliveries_and_loses_nothing(stack):
    ledgers = await ledgers_for(stack, 2)
    try:
        stack.valkey_pause()
        stopped = time.monotonic()
        ack_times: list[float] = []
        try:

            async def send_while_stopped(ledger: Ledger) -> None:
                while time.monotonic() - stopped < 10:
                    started = time.monotonic()
                    reply = await ledger.send(ledger.write(), within=BOUND + 10)
                    assert reply["event"] == "ack", reply  # sends keep working
                    ack_times.append(time.monotonic() - started)
                    await asyncio.sleep(0.2)

            await asyncio.gather(*(send_while_stopped(ledger) for ledger in ledgers))
        finally:
            stack.valkey_resume()
        assert max(ack_times) < BOUND + SLACK, max(ack_times)

        # Late deliveries arrive: each side sees every message the other had acknowledged.
        for reader, writer in (ledgers, ledgers[::-1]):
            wanted = {seq for seq, _id in writer.acked.values()}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                got = {
                    frame["data"]["seq"]
                    for frame in reader.client.seen
                    if frame["event"] == "new-message"
                }
                if wanted <= got:
                    break
                await asyncio.sleep(0.1)
            assert wanted <= got, sorted(wanted - got)
        await settle_and_check(stack, ledgers)
        figures.info(
            f"Valkey stopped 10 s: {len(ack_times)} sends acked, the slowest in "
            f"{max(ack_times):.2f} s; every late delivery arrived"
        )
    finally:
        for ledger in ledgers:
            await ledger.close()


async def test_every_request_is_answered_within_its_own_bound_while_the_database_stops(stack):
    """Issue 28, item 1, the database really stopped (SIGSTOP): a socket opened during the
    stall (its room's seq not yet known to the gateway) was answered only after the
    resume, 9.5 s later; sends queued behind a round in flight took 3.8-5.0 s against a
    bound of 2 s. Every handshake, frame and REST request must be answered within the
    bound of its own arrival plus a margin, and the outboxes then lose nothing."""
    from tests.e2e.wsclient import WsClient

    room_id, customer, _agent = stack.room(3)
    ledgers = await ledgers_for(stack, 3)
    waits: dict[str, float] = {}
    http = httpx.AsyncClient(base_url=stack.server.http_url)
    http.cookies.set("sessionid", customer["cookie"].split("=", 1)[1])
    token = (await http.get("/api/auth/csrf", timeout=10)).json()["csrfToken"]
    try:
        stack.database.pause()
        try:
            await asyncio.sleep(0.5)

            async def fresh_socket() -> None:
                started = time.monotonic()
                client = await WsClient.open(
                    stack.server.ws_url, cookie=customer["cookie"], name="fresh"
                )
                try:
                    joined = time.monotonic()
                    reply = await client.request(
                        "join-room", {"room_id": room_id}, within=BOUND + 10
                    )
                    waits["join"] = time.monotonic() - joined
                    sent = time.monotonic()
                    reply = await client.request(
                        "send-message",
                        {"room_id": room_id, "client_msg_id": "fresh-1", "text": "hello?"},
                        within=BOUND + 10,
                    )
                    waits["fresh send"] = time.monotonic() - sent
                    assert reply["event"] == "error", reply
                    assert reply["data"]["code"] == "service_unavailable", reply
                except (AssertionError, ConnectionClosed) as exc:  # refused as busy: in time
                    if "4013" not in str(exc):
                        raise
                    waits["handshake"] = time.monotonic() - started
                finally:
                    await client.close()

            async def queued_sends(ledger: Ledger) -> None:
                cmids = [ledger.write() for _ in range(5)]
                started = time.monotonic()
                for cmid in cmids:  # all at once: each waits behind the one before
                    await ledger.client.send(
                        "send-message",
                        {"room_id": room_id, "client_msg_id": cmid, "text": ledger.outbox[cmid]},
                        ack=cmid,
                    )
                for cmid in cmids:
                    reply = await ledger.client.expect(
                        lambda f, cmid=cmid: f.get("ack") == cmid, within=BOUND + 10
                    )
                    assert reply["event"] == "error", reply
                    waits[f"queued {cmid}"] = time.monotonic() - started

            async def rest_sends() -> None:
                started = time.monotonic()

                async def one(n: int) -> None:
                    answer = await http.post(
                        f"/api/chat/rooms/{room_id}/messages",
                        json={"client_msg_id": f"rest-{n}", "text": "by REST"},
                        headers={"X-CSRFToken": token, "Origin": stack.server.http_url},
                        timeout=BOUND + 10,
                    )
                    assert answer.status_code == 503, answer.text
                    waits[f"rest {n}"] = time.monotonic() - started

                await asyncio.gather(*(one(n) for n in range(12)))

            await asyncio.gather(
                fresh_socket(), *(queued_sends(ledger) for ledger in ledgers), rest_sends()
            )
        finally:
            stack.database.resume()
        assert max(waits.values()) < BOUND + SLACK, waits
        await settle_and_check(stack, ledgers)  # the outboxes, sent again: exactly once
        figures.info(
            "database stopped: every request answered within "
            f"{max(waits.values()):.2f} s of its arrival ({len(waits)} requests)"
        )
    finally:
        await http.aclose()
        for ledger in ledgers:
            await ledger.close()
