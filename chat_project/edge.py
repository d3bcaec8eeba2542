"""The outermost HTTP layer of a gateway process: a request id for the logs
(``chat_project.logs``), and the metrics listener (``METRICS_PORT``) answered here, before
Django: ``GET /metrics`` to the token (``chat_project.metrics``), a 404 for anything
else. The app's own port goes to Django, which has no ``/metrics`` (a 404 however the
path is spelled)."""

from __future__ import annotations

from typing import Any

from chat_project import logs, metrics


class HttpEdge:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = scope.get("headers") or []
        logs.request_id.set(logs.request_id_from(headers))
        if not metrics.on_metrics_listener(scope):
            return await self.inner(scope, receive, send)
        if scope.get("path") == "/metrics" and metrics.authorized(headers):
            body, content_type = metrics.exposition()
            await _respond(send, 200, body, content_type)
        else:
            await _respond(send, 404, b"Not found.", "text/plain; charset=utf-8")
        return None


async def _respond(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})
