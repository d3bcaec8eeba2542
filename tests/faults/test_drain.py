"""A gateway process drained, then another killed, under ledger clients chatting through
the proxy (issue 17): HAProxy (``deploy/haproxy.cfg``) in front of three daphne
processes on the fault suite's on-disk database and its own Valkey.

- SIGTERM to one process: it stops listening, finishes what its sockets started, closes
  them with 1012 and exits 0 within ``DRAIN_SECONDS``;
- then SIGKILL to another: its sockets drop (1006);
- every client is back (reconnected through the proxy and joined) within 5 s and sends
  its outbox again; every acknowledged message is in the database exactly once, at the
  seq of its ack, without holes (``tests.faults.ledger``);
- nobody went offline meanwhile (Valkey's presence, polled every 50 ms), and no agent's
  room was re-routed by the vanished-agent rule, whose grace is set to 3 s here so
  that a presence gap would trip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time

import pytest
from bson import ObjectId
from redis import asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from chat_project.dev import servers as devservers
from chat_project.dev.proxy import Proxy
from tests.e2e.conftest import DaphneServer
from tests.faults.conftest import DB_NAME, Database, _run
from tests.faults.ledger import Ledger
from tests.faults.test_faults import settle_and_check

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

DRAIN_SECONDS = 5
BACK_WITHIN = 5.0
# Drain-and-kill cycles (the README gives the longer mode: DRAIN_CYCLES=10).
CYCLES = int(os.environ.get("DRAIN_CYCLES", "1"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    root = tmp_path_factory.mktemp("drain")
    database = Database(root / "db")
    valkey = devservers.start_valkey()
    env = {
        "MONGODB_URI": database.url,
        "REDIS_URL": valkey.url,
        "MONGODB_NAME": DB_NAME,
        "DJANGO_SETTINGS_MODULE": "chat_project.settings",
        "FAST_PASSWORD_HASHER": "1",
        "NUM_PROXIES": "1",
        "WS_RATE_PER_SECOND": "2000",
        "WS_RATE_BURST": "4000",
        "DRAIN_SECONDS": str(DRAIN_SECONDS),
        # Leases outlive a SIGKILLed process long enough for its clients to come back;
        # a plain close keeps 1 s of grace, a drain's close 10 s.
        "WS_PRESENCE_TTL_SECONDS": "10",
        "WS_HEARTBEAT_SECONDS": "1",
        "WS_PRESENCE_GRACE_SECONDS": "1",
        "WS_PRESENCE_SWEEP_SECONDS": "0.2",
        "WS_DRAIN_PRESENCE_GRACE_SECONDS": "10",
        # A vanished agent loses their rooms after 3 s: any presence gap would show.
        "AGENT_GONE_GRACE_SECONDS": "3",
        "ROUTING_HOUSEKEEPING_SECONDS": "1",
        "CHAT_HOLE_SETTLE_SECONDS": "0.5",
    }
    servers: list[DaphneServer] = []
    proxy = None
    try:
        _run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        seeded = root / "seed.json"
        args = ["--tag", "d", "--customers", "4", "--per-agent", "2", "--out", str(seeded)]
        _run([sys.executable, "bench/seed.py", "chat", *args], env)
        seed = json.loads(seeded.read_text())
        servers = [DaphneServer(f"drain-{i}", DB_NAME, env) for i in (1, 2, 3)]
        for server in servers:
            server.start()
        proxy = Proxy([server.port for server in servers]).start()
        yield {"database": database, "valkey": valkey, "servers": servers, "proxy": proxy, **seed}
    finally:
        if proxy is not None:
            proxy.stop()
        for server in servers:
            if os.environ.get("FAULT_KEEP_LOG"):
                with open(os.environ["FAULT_KEEP_LOG"], "a") as out:
                    out.write(f"--- {server.name}\n{server.log()}")
            server.stop()
        database.stop()
        valkey.stop()


class Client:
    """A ledger that reconnects through the proxy whenever its socket closes."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.closes: list[tuple[int | None, float]] = []  # (close code, seconds to be back)

    async def run(self, stop: asyncio.Event) -> None:
        ledger = self.ledger
        while not stop.is_set():
            if ledger.client.closed.done():
                code = ledger.client.closed.result()
                closed_at = time.monotonic()
                await self.reconnect()
                self.closes.append((code, time.monotonic() - closed_at))
                continue
            with contextlib.suppress(AssertionError, TimeoutError, OSError, ConnectionClosed):
                for cmid in list(ledger.outbox)[:5] or [ledger.write()]:
                    await ledger.send(cmid, within=5)
            await asyncio.sleep(0.02)

    async def reconnect(self) -> None:
        async with asyncio.timeout(30):
            while True:
                try:
                    await self.ledger.connect()
                    return
                except Exception:  # refused, or closed before the join's ack
                    await asyncio.sleep(0.1)


async def drain_one(server: DaphneServer) -> None:
    """SIGTERM: the process exits 0 within the bound, having finished every frame."""
    server.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = await asyncio.to_thread(server.process.wait, DRAIN_SECONDS + 10)
    assert code == 0, server.log()[-3000:]
    assert time.monotonic() - started < DRAIN_SECONDS + 3
    report = server.log().split("drain: done ", 1)[1].splitlines()[0]
    assert "'unfinished_frames': 0" in report, report
    assert "'sockets_left': 0" in report, report
    # Every consumer finished its exit (the channel layer's unsubscribe) before the stop.
    assert "'apps_left': 0" in report, report
    assert server.tracebacks() == []


def restart(server: DaphneServer) -> None:
    """The same process again, on its port (the proxy's configuration names it)."""
    server.log_path.write_text("")
    server.start()


async def watch_presence(url: str, user_ids: list[str], stop: asyncio.Event) -> list[str]:
    """Every 50 ms: is each user still online (a lease in Valkey's presence:online)?"""
    client = aioredis.Redis.from_url(url)
    gaps = []
    try:
        while not stop.is_set():
            now_ms = time.time() * 1000
            scores = await client.zmscore("presence:online", user_ids)
            gaps += [u for u, s in zip(user_ids, scores, strict=True) if s is None or s <= now_ms]
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    return gaps


async def test_a_drained_then_a_killed_process_lose_and_duplicate_nothing(proxied):
    proxy, servers = proxied["proxy"], proxied["servers"]
    users = proxied["users"]
    ledgers = [  # agents first: no room is without its agent meanwhile
        Ledger(user["username"], proxy.ws_url, user["cookie"], room["id"], user["id"])
        for side in ("agent", "customer")
        for room in proxied["rooms"]
        for user in [users[room[side]]]
    ]
    for ledger in ledgers:
        await ledger.connect()
    clients = [Client(ledger) for ledger in ledgers]
    online = sorted({ledger.user_id for ledger in ledgers})
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_presence(proxied["valkey"].url, online, stop))
    chatting = [asyncio.create_task(client.run(stop)) for client in clients]
    try:
        await asyncio.sleep(2)
        for cycle in range(CYCLES):
            drained, killed = servers[(2 * cycle) % 3], servers[(2 * cycle + 1) % 3]
            await drain_one(drained)
            await asyncio.sleep(3)
            killed.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(killed.process.wait, 10)
            await asyncio.sleep(BACK_WITHIN + 1)
            if cycle + 1 < CYCLES:  # both back on their ports, in the proxy's rotation
                for server in (drained, killed):
                    await asyncio.to_thread(restart, server)
                await asyncio.sleep(3)
    finally:
        stop.set()
        await asyncio.gather(*chatting, return_exceptions=True)
        gaps = await watcher

    closes = [
        (ledger.name, c)
        for client, ledger in zip(clients, ledgers, strict=True)
        for c in client.closes
    ]
    codes = sorted({code for _, (code, _) in closes})
    assert codes == [1006, 1012], closes
    assert max(took for _, (_, took) in closes) < BACK_WITHIN, closes
    assert gaps == [], f"went offline: {sorted(set(gaps))}"

    # Everything acknowledged is stored exactly once; every room kept its agent.
    by_room: dict[str, list[Ledger]] = {}
    for ledger in ledgers:
        by_room.setdefault(ledger.room_id, []).append(ledger)
    alive = next(server for server in servers if server.process.poll() is None)
    stack = type("Stack", (), {"database": proxied["database"], "server": alive})
    for room_ledgers in by_room.values():
        await settle_and_check(stack, room_ledgers)
        assert all(ledger.acked for ledger in room_ledgers)
    db = proxied["database"].client()
    assert db.agents_routingaudit.count_documents({"action": "requeued"}) == 0
    for room in proxied["rooms"]:
        stored = db.chat_room.find_one({"_id": ObjectId(room["id"])})
        assert (stored["status"], str(stored["agent_id"])) == (
            "active",
            users[room["agent"]]["id"],
        )
    assert alive.tracebacks() == []
    for ledger in ledgers:
        await ledger.close()
