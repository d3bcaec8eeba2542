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


async def test_the_edge_sets_the_request_id_and_guards_metrics(settings):
    settings.METRICS_TOKEN = "t0ken"
    seen: list[str | None] = []

    async def inner(scope, receive, send):
        seen.append(logs.request_id.get())
        await send({"type": "http.response.start", "status": 404, "headers": []})

    async def call(path: str, headers: list) -> list[dict]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "path": path, "headers": headers}
        await HttpEdge(inner)(scope, None, send)
        return sent

    await call("/api/health", [(b"x-request-id", b"abc-1")])
    assert seen == ["abc-1"]
    assert (await call("/metrics", []))[0]["status"] == 404  # Django's, no token
    assert (await call("/metrics", [(b"authorization", b"Bearer nope")]))[0]["status"] == 404
    answered = await call("/metrics", [(b"authorization", b"Bearer t0ken")])
    assert answered[0]["status"] == 200
    assert b"chat_ws_connections" in answered[1]["body"]
    settings.METRICS_TOKEN = ""
    assert (await call("/metrics", [(b"authorization", b"Bearer ")]))[0]["status"] == 404


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
