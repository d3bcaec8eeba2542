"""End-to-end fixtures: real daphne processes (subprocesses on free ports) against the
embedded MongoDB-protocol and Valkey servers of the test run, driven by the
``websockets`` client.

The daphne processes use the test database (its name is only known once pytest-django
has created it) and the test run's Redis. Users and sessions are made in the test
process with the ORM; tests are ``transaction=True`` so both sides see the rows.
Servers start lazily, once per run, and stop at the end; each writes a log that the
tests check for tracebacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async

REPO = Path(__file__).resolve().parents[2]

# Short presence and typing timings keep the suite fast; a generous token bucket keeps
# the functional tests (and the fuzz) clear of rate limiting, which has its own server.
FAST = {
    "WS_PRESENCE_TTL_SECONDS": "3",
    "WS_HEARTBEAT_SECONDS": "1",
    "WS_PRESENCE_GRACE_SECONDS": "1",
    "WS_PRESENCE_SWEEP_SECONDS": "0.2",
    "WS_TYPING_TTL_SECONDS": "1.5",
    "WS_TYPING_THROTTLE_SECONDS": "0.5",
    "WS_RATE_PER_SECOND": "2000",
    "WS_RATE_BURST": "4000",
    "USER_BUDGET_PER_SECOND": "2000",
    "USER_BUDGET_BURST": "4000",
    # Engine.IO pings every second (the client gives up after 1 + 3 s without one).
    "SOCKETIO_PING_INTERVAL_SECONDS": "1",
    "SOCKETIO_PING_TIMEOUT_SECONDS": "3",
}


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaphneServer:
    """One ``daphne chat_project.asgi:application`` process."""

    def __init__(self, name: str, db_name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = _free_port()
        self.log_path = Path(tempfile.mkstemp(prefix=f"daphne-{name}-", suffix=".log")[1])
        transport = env.get("WS_TRANSPORT_MAX_BYTES", str(2 * 64 * 1024))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chat_project.settings",
            "MONGODB_NAME": db_name,
            "FAST_PASSWORD_HASHER": "1",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.args = [
            sys.executable,
            "-m",
            "chat_project.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            # The transport cap (Autobahn maxMessagePayloadSize / maxFramePayloadSize).
            "--websocket-max-message-size",
            transport,
            "--websocket-max-frame-size",
            transport,
            "chat_project.asgi:application",
        ]
        self.process: subprocess.Popen | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DaphneServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept by the child)
        self.process = subprocess.Popen(
            self.args,
            cwd=str(REPO),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne {self.name} exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.http_url}/api/health", timeout=2).status_code < 500:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"daphne {self.name} did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tracebacks(self) -> list[str]:
        text = self.log()
        return [chunk[:2000] for chunk in text.split("Traceback (most recent call last)")[1:]]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def _servers(django_db_setup):
    """Lazily started servers by name, all stopped at the end of the run."""
    from django.conf import settings

    db_name = settings.DATABASES["default"]["NAME"]
    started: dict[str, DaphneServer] = {}

    def get(name: str, **env: str) -> DaphneServer:
        if name not in started:
            started[name] = DaphneServer(name, db_name, env).start()
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture
def server(_servers) -> DaphneServer:
    """The main gateway process (fast presence timings, generous rate limits)."""
    return _servers("a", **FAST)


@pytest.fixture
def server_b(_servers) -> DaphneServer:
    """A second process on another port, sharing Valkey and the database."""
    return _servers("b", **FAST)


@pytest.fixture
def lossy_server(_servers) -> DaphneServer:
    """Loses 10% of room fan-out on purpose (tests.e2e.lossy_layer), with the gateway's
    own gap repair off, so that what the client misses is for ``sync`` to bring back."""
    return _servers(
        "lossy",
        **FAST,
        CHANNEL_LAYER_BACKEND="tests.e2e.lossy_layer.LossyPubSubChannelLayer",
        WS_GAP_REPAIR_SECONDS="3600",
    )


@pytest.fixture
def strict_server(_servers) -> DaphneServer:
    """Default-like limits: 10 events/s, burst 20, 5 strikes, 3 sockets per user,
    frames above 4 KB refused by the app and above 8 KB by the transport."""
    return _servers(
        "strict",
        **{**FAST, "WS_RATE_PER_SECOND": "10", "WS_RATE_BURST": "20"},
        WS_RATE_STRIKES="5",
        WS_MAX_SOCKETS_PER_USER="3",
        WS_MAX_FRAME_BYTES="4096",
        WS_TRANSPORT_MAX_BYTES="8192",
    )


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def login():
    """``await login(user)`` -> a Cookie header value for a fresh session of ``user``."""
    return sync_to_async(session_cookie)


@pytest.fixture
async def ws(login):
    """``await ws(server, user, name=...)`` -> an open WsClient; all closed afterwards."""
    from tests.e2e.wsclient import WsClient

    opened: list[WsClient] = []

    async def open_client(target: DaphneServer, user, *, name: str = "", **kwargs) -> WsClient:
        cookie = await login(user) if user is not None else None
        client = await WsClient.open(
            target.ws_url, cookie=cookie, name=name or getattr(user, "username", "anon"), **kwargs
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


@pytest.fixture
def make_room():
    """``await make_room(customer, agent)`` -> the room id (routing has its own tests:
    the agent is assigned directly, as chat.tests.factories does)."""

    def make(customer, agent) -> str:
        from chat.tests.factories import room_with_agent

        return str(room_with_agent(customer, agent).pk)

    return sync_to_async(make)


@pytest.fixture
async def sio(login):
    """``await sio(server, user, name=..., **options)`` -> a SioClient: the npm
    socket.io-client in a Node process, ``io(server, {transports: ["websocket"], ...})``
    with a fresh session cookie of ``user`` (none for ``None``). Wait for
    ``connected()``; all are closed afterwards."""
    from tests.e2e.sioclient import SioClient, driver_ready

    problem = driver_ready()
    if problem is not None:
        pytest.fail(problem)
    opened: list[SioClient] = []

    async def open_client(
        target: DaphneServer, user, *, name: str = "", namespace: str = "", **kwargs
    ) -> SioClient:
        cookie = await login(user) if user is not None else None
        client = await SioClient.open(
            target.http_url + namespace,
            cookie=cookie,
            name=name or getattr(user, "username", "anon"),
            **kwargs,
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()
