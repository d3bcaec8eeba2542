"""The outermost HTTP layer of a gateway process: a request id for the logs
(``chat_project.logs``) and ``GET /metrics`` (``chat_project.metrics``) answered here,
before Django, when the token matches (anything else goes on to Django: a 404)."""

from __future__ import annotations

from typing import Any

from chat_project import logs, metrics


class HttpEdge:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = scope.get("headers") or []
        logs.request_id.set(logs.request_id_from(headers))
        if scope.get("path") == "/metrics" and metrics.authorized(headers):
            body, content_type = metrics.exposition()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", content_type.encode()),
                        (b"cache-control", b"no-store"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return None
        return await self.inner(scope, receive, send)
