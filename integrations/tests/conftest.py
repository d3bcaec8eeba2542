"""A real HTTP receiver on 127.0.0.1 (``http.server``), scripted per test: answer 200,
500, slowly (past the timeout); plus a socket that accepts and never answers and a
closed port. Webhook settings shrink timeouts and backoff so each test takes seconds."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What it answers is ``answer(request_number) -> status`` (or ``"slow"``)."""

    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[int], int | str] = lambda n: 200
    slow_seconds: float = 1.5
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies answered 2xx, in the order they arrived."""
        return [r.json for r in self.requests if 200 <= r.status < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                number = len(receiver.requests)
                answer = receiver.answer(number)
                status = 200 if answer == "slow" else int(answer)
                receiver.requests.append(Request(dict(self.headers), body, status))
            if answer == "slow":
                time.sleep(receiver.slow_seconds)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # handler set below
    made = Receiver(server=server)
    server.RequestHandlerClass = _handler(made)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield made
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_url():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    listener.close()


@pytest.fixture
def closed_url():
    """A port nothing listens on (connection refused)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}/hook"


@pytest.fixture(autouse=True)
def fast_webhooks(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 0.01
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 0.05
    settings.WEBHOOK_RETRY_HOURS = 1
    settings.WEBHOOK_PAUSE_AFTER_FAILURES = 1000
    settings.WEBHOOK_PAUSE_AFTER_SECONDS = 3600
    # The receivers are on 127.0.0.1 (test_addresses.py turns the guard back on).
    settings.WEBHOOK_BLOCK_PRIVATE_ADDRESSES = False
    return settings
