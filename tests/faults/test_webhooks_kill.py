"""The webhook outbox survives kill -9 of its worker (issue 30): a real
``manage.py run_webhooks`` process delivers to a real receiver on 127.0.0.1 while
messages are written in several rooms; it is SIGKILLed in the middle of the burst and
started again. Every message must arrive at least once (the receiver dedupes by
``X-Webhook-Id``), and each room's messages in seq order, none lost.

The worker process uses this test run's embedded database and Valkey (the test's own
database, by name); only the worker is killed here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from chat.tests.factories import room_open, send
from integrations import services
from tests.e2e.conftest import REPO

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOMS = 4
PER_ROOM = 30


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_seen: list[tuple[str, int]] = []  # (room, seq) in order of first arrival
        self.ids: set[str] = set()
        self.duplicates = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.lock:
                    if self.headers["X-Webhook-Id"] in receiver.ids:
                        receiver.duplicates += 1
                    else:
                        receiver.ids.add(self.headers["X-Webhook-Id"])
                        receiver.first_seen.append((body["room_id"], body["seq"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.first_seen)


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_webhooks", "--every", "0.05"],
        cwd=str(REPO),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.timeout(180)
def test_every_message_is_delivered_in_order_through_kill_9_of_the_worker(
    support_admin, make_user, settings
):
    settings.WEBHOOK_BLOCK_PRIVATE_ADDRESSES = False  # the receiver is on 127.0.0.1
    receiver = Receiver()
    services.endpoint_create(actor=support_admin, url=receiver.url, kinds=["message.created"])
    rooms = [room_open(make_user(username=f"kill{n}", role="user")) for n in range(ROOMS)]
    env = {
        **os.environ,
        "MONGODB_NAME": connection.settings_dict["NAME"],
        "WEBHOOK_TIMEOUT_SECONDS": "0.5",
        "WEBHOOK_BACKOFF_BASE_SECONDS": "0.01",
        "WEBHOOK_BACKOFF_CAP_SECONDS": "0.1",
        "WEBHOOKS_IN_GATEWAY": "0",
        "WEBHOOK_LEASE_SECONDS": "3",
        "WEBHOOK_BLOCK_PRIVATE_ADDRESSES": "0",  # the receiver is on 127.0.0.1
    }
    worker = _worker(env)
    # Below the gateways' CPU priority, as it sets itself (WEBHOOK_WORKER_NICE).
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.WEBHOOK_WORKER_NICE)
    assert _wait(lambda: os.getpriority(os.PRIO_PROCESS, worker.pid) == expected, 30)
    killed_at = None
    try:
        total = ROOMS * PER_ROOM
        for n in range(total):
            room = rooms[n % ROOMS]
            send(room, room.customer, f"m{n}")
            if n == total // 3:
                # Mid-burst, once the worker is delivering: kill -9.
                assert _wait(lambda: receiver.count() >= 5, 30), worker.stderr
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                killed_at = receiver.count()
            if n == 2 * total // 3:
                worker = _worker(env)
            time.sleep(0.005)
        delivered = _wait(lambda: receiver.count() == total, 60)
        assert delivered, f"{receiver.count()} of {total} delivered"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(10)
        receiver.server.shutdown()
        receiver.server.server_close()

    assert killed_at is not None
    assert killed_at < total  # the kill came mid-burst
    for room in rooms:
        seqs = [seq for room_id, seq in receiver.first_seen if room_id == str(room.pk)]
        assert seqs == list(range(1, PER_ROOM + 1)), (str(room.pk), seqs)
