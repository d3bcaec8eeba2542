"""JSON logs with request and socket ids (``LOG_FORMAT=json``), the HTTP edge that sets
the request id and serves ``/metrics`` to the token, and the settings that move
attachments to S3-compatible storage (issue 17)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from chat_project import logs
from chat_project.edge import HttpEdge

REPO = Path(__file__).resolve().parents[2]


def _record(message: str = "hello") -> logging.LogRecord:
    record = logging.LogRecord("chat.test", logging.WARNING, __file__, 1, message, (), None)
    logs.ContextFilter().filter(record)
    return record


def test_a_json_line_carries_the_request_and_socket_ids():
    request, sock = logs.request_id.set("req-1"), logs.socket_id.set("abc123")
    try:
        line = json.loads(logs.JsonFormatter().format(_record("sent")))
    finally:
        logs.request_id.reset(request)
        logs.socket_id.reset(sock)
    assert line["message"] == "sent"
    assert (line["level"], line["logger"]) == ("WARNING", "chat.test")
    assert (line["request_id"], line["socket_id"]) == ("req-1", "abc123")
    assert line["time"].endswith("Z")


def test_a_json_line_without_context_has_no_ids():
    line = json.loads(logs.JsonFormatter().format(_record()))
    assert "request_id" not in line
    assert "socket_id" not in line


def test_the_request_id_is_the_proxys_when_it_looks_like_one():
    assert logs.request_id_from([(b"x-request-id", b"7F000001:C1A2_7F000001")]) == (
        "7F000001:C1A2_7F000001"
    )
    made = logs.request_id_from([(b"x-request-id", b"<script>")])
    assert len(made) == 32
    assert made != logs.request_id_from([])


async def test_the_edge_sets_the_request_id_and_serves_metrics_on_their_port_only(settings):
    """Issue 28: the app's port served /metrics to the token, and the proxy's deny rule
    matched the raw path: /%6Detrics (decoded to /metrics) went through. Metrics are
    answered only on METRICS_PORT's listener now."""
    settings.METRICS_TOKEN = "t0ken"
    settings.METRICS_PORT = 9100
    seen: list[tuple[str | None, str]] = []
    bearer = [(b"authorization", b"Bearer t0ken")]

    async def inner(scope, receive, send):
        seen.append((logs.request_id.get(), scope["path"]))
        await send({"type": "http.response.start", "status": 404, "headers": []})

    async def call(path: str, headers: list, port: int = 8000) -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": path, "headers": headers, "server": ("::", port)}
        await HttpEdge(inner)(scope, None, send)
        return sent

    await call("/api/health", [(b"x-request-id", b"abc-1")])
    assert seen == [("abc-1", "/api/health")]
    # the app's port: Django, whatever the token
    assert (await call("/metrics", bearer))[0]["status"] == 404
    assert seen[-1][1] == "/metrics"
    # the metrics listener: /metrics to the token, nothing else, never Django
    seen.clear()
    assert (await call("/metrics", [], port=9100))[0]["status"] == 404
    assert (await call("/metrics", [(b"authorization", b"Bearer no")], 9100))[0]["status"] == 404
    assert (await call("/api/health", bearer, port=9100))[0]["status"] == 404
    answered = await call("/metrics", bearer, port=9100)
    assert answered[0]["status"] == 200
    assert b"chat_ws_connections" in answered[1]["body"]
    assert seen == []
    settings.METRICS_TOKEN = ""
    assert (await call("/metrics", [(b"authorization", b"Bearer ")], 9100))[0]["status"] == 404
    settings.METRICS_TOKEN, settings.METRICS_PORT = "t0ken", 0
    assert (await call("/metrics", bearer, port=0))[0]["status"] == 404  # no listener at all


def test_the_metrics_listener_binds_where_the_server_does(settings):
    from chat_project.serve import metrics_endpoint

    settings.METRICS_PORT = 0
    assert metrics_endpoint(["-b", "0.0.0.0", "-p", "8000"]) == []
    settings.METRICS_PORT = 9100
    assert metrics_endpoint(["-b", "0.0.0.0", "-p", "8000", "app"]) == [
        "-e",
        "tcp:port=9100:interface=0.0.0.0",
    ]
    assert metrics_endpoint(["-p", "8000"]) == ["-e", "tcp:port=9100:interface=127.0.0.1"]


def test_s3_bucket_moves_attachments_to_s3_compatible_storage():
    probe = (
        "import django; django.setup();"
        "from django.core.files.storage import storages;"
        "s = storages['default'];"
        "print(type(s).__module__, type(s).__name__, s.bucket_name, s.endpoint_url,"
        " s.location, s.default_acl, s.file_overwrite)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chat_project.settings",
        "S3_BUCKET": "chat-files",
        "S3_ENDPOINT_URL": "http://minio:9000",
        "S3_ADDRESSING_STYLE": "path",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [
        "storages.backends.s3",
        "S3Storage",
        "chat-files",
        "http://minio:9000",
        "attachments",
        "None",
        "False",
    ]


def test_the_json_log_format_is_what_settings_configure():
    config = logs.logging_config(level="INFO", fmt="json")
    assert config["formatters"]["main"] == {"()": "chat_project.logs.JsonFormatter"}
    assert config["handlers"]["console"]["filters"] == ["context"]


def test_daphne_waits_for_a_handshake_past_its_line_and_its_bound(settings):
    from chat_project.serve import with_connect_timeout

    settings.WS_HANDSHAKE_WAIT_SECONDS = 10
    settings.MONGODB_TIMEOUT_MS = 5000
    assert with_connect_timeout(["app"]) == ["--websocket_connect_timeout", "16", "app"]
    given = ["--websocket_connect_timeout", "30", "app"]
    assert with_connect_timeout(given) == given
