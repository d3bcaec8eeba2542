"""Prometheus metrics of one gateway process (issue 17), with ``prometheus_client``.

Each process has its own registry (the library's default, with its process and platform
collectors): Prometheus scrapes every process, not the proxy. ``GET /metrics`` is served
on the process's metrics listener only (``METRICS_PORT``, opened by
``chat_project.serve``; ``chat_project.edge`` answers it), which ``deploy/haproxy.cfg``
never routes to, and only to ``Authorization: Bearer <METRICS_TOKEN>``. The app's own
port never serves metrics, however the path is spelled (issue 28: ``/%6Detrics`` passed
the proxy's deny rule and the app decoded it). docs/deploy.md lists what each metric says.

Recording costs a dictionary look-up and a lock per call; labels are only ever names
from fixed sets (event names of the contract, error codes, database command names,
Redis operations named here), so no series grows with users, rooms or sockets.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pymongo import monitoring

# Seconds: 1 ms .. 10 s.
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

connections = Gauge("chat_ws_connections", "WebSocket connections open in this process")
frames_in = Counter("chat_ws_frames_in_total", "Client frames read, by event", ["event"])
frames_out = Counter("chat_ws_frames_out_total", "Server frames sent, by event", ["event"])
acks = Counter("chat_ws_acks_total", "Client frames answered with an ack, by event", ["event"])
ack_seconds = Histogram(
    "chat_ws_ack_seconds",
    "From reading a client frame to sending its ack, by event",
    ["event"],
    buckets=LATENCY,
)
fanout_seconds = Histogram(
    "chat_fanout_seconds",
    "From publishing a channel-layer event (any process) to handling it on a socket here",
    buckets=LATENCY,
)
writer_round_changes = Histogram(
    "chat_writer_round_changes",
    "Changes written per timeline-writer round (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
writer_round_seconds = Histogram(
    "chat_writer_round_seconds", "One timeline-writer round, read to settled", buckets=LATENCY
)
queue_length = Gauge("chat_queue_length", "Items waiting in this process's queues", ["queue"])
routing_decisions = Counter(
    "chat_routing_decisions_total", "Routing decisions (the routing audit's actions)", ["decision"]
)
errors = Counter(
    "chat_errors_total", "Error answers by code and transport (ws or http)", ["code", "transport"]
)
db_seconds = Histogram(
    "chat_db_command_seconds", "MongoDB command latency, by command", ["command"], buckets=LATENCY
)
db_failures = Counter("chat_db_command_failures_total", "MongoDB commands failed", ["command"])
redis_seconds = Histogram(
    "chat_redis_seconds", "Redis call latency, by operation", ["operation"], buckets=LATENCY
)


def ack_sent(event: str, started: float) -> None:
    acks.labels(event).inc()
    ack_seconds.labels(event).observe(time.monotonic() - started)


def fanout_delivered(message: dict[str, Any]) -> None:
    published = message.get("published_at")
    if isinstance(published, float):
        fanout_seconds.observe(max(0.0, time.time() - published))


def watch_queue(name: str, length: Callable[[], int]) -> None:
    """Report ``length()`` as ``chat_queue_length{queue=name}`` at every scrape."""
    queue_length.labels(name).set_function(length)


@contextlib.contextmanager
def redis_timer(operation: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        redis_seconds.labels(operation).observe(time.monotonic() - started)


class CommandTimer(monitoring.CommandListener):
    """Every MongoDB command's latency, from pymongo's own command monitoring."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        db_seconds.labels(event.command_name).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        db_seconds.labels(event.command_name).observe(event.duration_micros / 1e6)
        db_failures.labels(event.command_name).inc()


_listening = False


def install_command_timer() -> None:
    """Before the first MongoClient is made (``ChatProjectConfig.ready``): pymongo
    applies globally registered listeners to clients created afterwards."""
    global _listening
    if not _listening:
        monitoring.register(CommandTimer())
        _listening = True


# --- the endpoint ----------------------------------------------------------------------


def on_metrics_listener(scope: dict[str, Any]) -> bool:
    """The request arrived on the metrics listener (``METRICS_PORT``: the listening
    socket's port, which daphne gives as ``scope["server"]``)."""
    server = scope.get("server")
    return bool(settings.METRICS_PORT) and bool(server) and server[1] == settings.METRICS_PORT


def authorized(headers: list[tuple[bytes, bytes]]) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return False
    expected = f"Bearer {token}".encode()
    for name, value in headers:
        if name == b"authorization":
            return hmac.compare_digest(value, expected)
    return False


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
