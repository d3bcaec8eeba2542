"""A small contract client for the end-to-end tests: the ``websockets`` library on a real
daphne, frames collected by a reader task so tests can wait for one event while others
keep arriving."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

DEFAULT_TIMEOUT = 10.0
SAME_ORIGIN = "same-origin"


def same_origin(url: str) -> str:
    """The origin of a page served where ``url`` (ws, wss, http or https) points."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


_acks = itertools.count(1)


class WsClient:
    def __init__(self, ws: ClientConnection, name: str = "") -> None:
        self.ws = ws
        self.name = name
        self.frames: list[dict[str, Any]] = []  # not yet consumed by expect()
        self.seen: list[dict[str, Any]] = []  # everything, in arrival order
        self.changed = asyncio.Condition()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        cookie: str | None,
        origin: str | None = SAME_ORIGIN,
        name: str = "",
        **kwargs: Any,
    ) -> WsClient:
        """``origin``: the page's, by default the socket's own (a page the server
        served); None sends no ``Origin``."""
        headers = {"Cookie": cookie} if cookie else {}
        ws = await connect(
            url,
            origin=same_origin(url) if origin == SAME_ORIGIN else origin,
            additional_headers=headers,
            proxy=None,
            compression=None,
            max_size=None,
            open_timeout=10,
            **kwargs,
        )
        return cls(ws, name)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                async with self.changed:
                    self.frames.append(frame)
                    self.seen.append(frame)
                    self.changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)
            async with self.changed:
                self.changed.notify_all()

    async def send(self, event: str, data: dict | None = None, ack: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": data if data is not None else {}}
        if ack is not None:
            frame["ack"] = ack
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, raw: str | bytes) -> None:
        await self.ws.send(raw)

    async def request(
        self, event: str, data: dict | None = None, *, within: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Send with an ``ack`` and return the ack or error frame answering it."""
        ack = f"{self.name}-{next(_acks)}"
        await self.send(event, data, ack)
        return await self.expect(
            lambda f: f.get("ack") == ack and f["event"] in ("ack", "error"), within=within
        )

    async def call(self, event: str, data: dict | None = None, **kwargs: Any) -> dict[str, Any]:
        """:meth:`request` that must succeed; returns the ack's data."""
        reply = await self.request(event, data, **kwargs)
        assert reply["event"] == "ack", (self.name, event, reply)
        return reply["data"]

    async def expect(
        self,
        match: str | Callable[[dict[str, Any]], bool],
        *,
        within: float = DEFAULT_TIMEOUT,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Wait for (and consume) the first frame matching an event name or predicate."""
        if isinstance(match, str):
            name = match
            match = lambda f: f["event"] == name and (where is None or where(f))  # noqa: E731
        async with asyncio.timeout(within), self.changed:
            while True:
                for index, frame in enumerate(self.frames):
                    if match(frame):
                        return self.frames.pop(index)
                if self.closed.done():
                    raise AssertionError(f"{self.name}: closed ({self.closed.result()})")
                await self.changed.wait()

    async def quiet_for(self, seconds: float, match: str | Callable[[dict], bool]) -> None:
        """Assert that no matching frame arrives (or is waiting) within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            frame = await self.expect(match, within=seconds)
            raise AssertionError(f"{self.name}: unexpected {frame}")

    def drain(self) -> list[dict[str, Any]]:
        frames, self.frames = self.frames, []
        return frames

    async def wait_closed(self, within: float = DEFAULT_TIMEOUT) -> int | None:
        async with asyncio.timeout(within):
            return await asyncio.shield(self.closed)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(BaseException):
            await self.reader
