"""The real npm ``socket.io-client`` (4.8.x) seen from a test: one Node process per client
(``socketio_client/driver.mjs``) whose reports (events, ack callbacks, connects,
disconnects, connect errors) are collected by a reader task, so a test can wait for one
while others keep arriving, as with :class:`tests.e2e.wsclient.WsClient`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.wsclient import SAME_ORIGIN, same_origin

DRIVER_DIR = Path(__file__).resolve().parent / "socketio_client"
DEFAULT_TIMEOUT = 10.0
_acks = itertools.count(1)

Report = dict[str, Any]


def driver_ready() -> str | None:
    """Why the driver cannot run, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (DRIVER_DIR / "node_modules" / "socket.io-client").exists():
        return f"socket.io-client is not installed: (cd {DRIVER_DIR} && npm ci)"
    return None


class SioClient:
    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.reports: list[Report] = []  # not yet consumed by expect()
        self.seen: list[Report] = []  # everything, in arrival order
        self.changed = asyncio.Condition()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        cookie: str | None,
        origin: str | None = SAME_ORIGIN,
        name: str = "",
        **options: Any,
    ) -> SioClient:
        """``io(url, {transports: ["websocket"], extraHeaders: {Cookie, Origin}, ...})``;
        returns at once (wait for ``connect`` with :meth:`connected`)."""
        process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(DRIVER_DIR / "driver.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(DRIVER_DIR),
        )
        client = cls(process, name)
        if origin == SAME_ORIGIN:
            origin = same_origin(url)
        await client._command(op="open", url=url, cookie=cookie, origin=origin, options=options)
        return client

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            report = json.loads(line)
            async with self.changed:
                self.reports.append(report)
                self.seen.append(report)
                self.changed.notify_all()

    async def _command(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()

    # -- what the client does

    async def emit(self, event: str, *args: Any) -> None:
        """``socket.emit(event, ...args)`` without a callback."""
        await self._command(op="emit", event=event, args=list(args), ack=None)

    async def request(self, event: str, *args: Any, within: float = DEFAULT_TIMEOUT) -> list:
        """``socket.emit(event, ...args, callback)``; the callback's arguments."""
        ack = f"{self.name}-{next(_acks)}"
        await self._command(op="emit", event=event, args=list(args), ack=ack)
        report = await self.next_report(
            lambda r: r["type"] == "ack" and r["ack"] == ack, within=within
        )
        return report["args"]

    async def emit_with_ack(self, event: str, *args: Any) -> Any:
        """``await socket.timeout(5000).emitWithAck(event, ...args)``: what it resolves to."""
        ack = f"{self.name}-{next(_acks)}"
        await self._command(op="emit_with_ack", event=event, args=list(args), ack=ack)
        report = await self.next_report(lambda r: r["type"] == "ack" and r["ack"] == ack)
        return report["args"][0]

    async def call(self, event: str, data: Any = None, **kwargs: Any) -> dict[str, Any]:
        """:meth:`request` with one data argument that must succeed: the ack's data."""
        args = await self.request(event, *([] if data is None else [data]), **kwargs)
        assert len(args) == 1, (self.name, event, args)
        assert "error" not in args[0], (self.name, event, args)
        return args[0]

    async def drop(self) -> None:
        """The connection breaks; the client library reconnects by itself."""
        await self._command(op="drop")

    async def disconnect(self) -> None:
        await self._command(op="disconnect")

    # -- what it reports

    async def next_report(
        self, match: Callable[[Report], bool], *, within: float = DEFAULT_TIMEOUT
    ) -> Report:
        """Wait for (and consume) the first report matching ``match``."""
        async with asyncio.timeout(within), self.changed:
            while True:
                for index, report in enumerate(self.reports):
                    if match(report):
                        return self.reports.pop(index)
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name}: the driver exited")
                await self.changed.wait()

    async def expect(
        self,
        event: str,
        *,
        where: Callable[[Any], bool] | None = None,
        within: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """The first server event ``event`` (whose data matches ``where``): its data."""

        def match(report: Report) -> bool:
            if report["type"] != "event" or report["event"] != event:
                return False
            return where is None or where(report["args"][0])

        report = await self.next_report(match, within=within)
        assert len(report["args"]) == 1, report  # one data argument, as on /ws/chat/
        return report["args"][0]

    async def connected(self, within: float = DEFAULT_TIMEOUT) -> None:
        await self.next_report(lambda r: r["type"] == "connect", within=within)

    async def disconnected(self, within: float = DEFAULT_TIMEOUT) -> Report:
        return await self.next_report(lambda r: r["type"] == "disconnect", within=within)

    async def connect_error(self, within: float = DEFAULT_TIMEOUT) -> Report:
        return await self.next_report(lambda r: r["type"] == "connect_error", within=within)

    async def quiet_for(self, seconds: float, match: Callable[[Report], bool]) -> None:
        """Assert that no matching report arrives (or is waiting) within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            report = await self.next_report(match, within=seconds)
            raise AssertionError(f"{self.name}: unexpected {report}")

    def events(self, event: str) -> list[Any]:
        """The data of every ``event`` seen so far, consumed or not."""
        return [r["args"][0] for r in self.seen if r["type"] == "event" and r["event"] == event]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()
        with contextlib.suppress(BaseException):
            await self.reader
