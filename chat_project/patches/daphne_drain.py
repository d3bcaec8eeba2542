"""SIGTERM drains the gateway instead of stopping it at once (issue 17): daphne's
``Server`` with a drain, installed by the launcher (``chat_project.serve``, through the
CLI's ``server_class``), and close code 1012 on daphne's WebSocket protocol.

What this relies on in daphne 4.2.3 (pinned exactly; ``chat_project/tests/test_patches.py``
checks each): ``CommandLineInterface.server_class``; ``Server.listen_success(port)``
receiving each listening port; ``Server.connections`` (protocol -> details with the
``application_instance`` future); ``WebSocketProtocol.serverClose`` calling Autobahn's
``sendClose``, which refuses codes other than 1000 and 3000-4999, while the frame
writer underneath (``sendCloseFrame``, Autobahn pinned too) sends any RFC 6455 code.

Twisted installs its own SIGTERM handler (stop the reactor) when the reactor starts;
this one replaces it right after (``callWhenRunning``). SIGINT keeps Twisted's: Ctrl-C
in ``./run.sh`` stops at once. A second SIGTERM during a drain stops at once too.

The drain itself (what the sockets and the apps do) is ``chat_project.drain``; here the
transport's half: stop listening first, and after the sockets, wait for HTTP requests
in flight, then stop the reactor. The whole is bounded by ``DRAIN_SECONDS`` (plus the
reactor's own shutdown): an orchestrator's grace period (compose's
``stop_grace_period``) must be longer.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from daphne import ws_protocol
from daphne.server import Server
from twisted.internet import reactor

from chat_project import drain

logger = logging.getLogger("chat_project.drain")

_INSTALLED = "_support_chat_drain"
SERVICE_RESTART_REASON = b"service restart"


def install() -> None:
    """Idempotent: allow close code 1012 from the application."""
    protocol = ws_protocol.WebSocketProtocol
    if getattr(protocol, _INSTALLED, False):
        return
    server_close = protocol.serverClose

    def serverClose(self: Any, code: int | None = None) -> None:
        if code == drain.CLOSE_SERVICE_RESTART:
            self.sendCloseFrame(code=code, reasonUtf8=SERVICE_RESTART_REASON, isReply=False)
            return
        server_close(self, code)

    protocol._support_chat_serverClose = server_close  # the original (contract test)
    protocol.serverClose = serverClose
    setattr(protocol, _INSTALLED, True)


class DrainingServer(Server):
    def run(self) -> None:
        self.ports: list[Any] = []
        self.drain_task: asyncio.Task | None = None
        reactor.callWhenRunning(self._install_sigterm)
        super().run()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def _install_sigterm(self) -> None:
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # A signal handler runs between two bytecodes of the loop's thread: hand over.
        reactor.callFromThread(self.start_drain)

    def start_drain(self) -> None:
        if self.drain_task is not None:
            logger.warning("drain: second SIGTERM, stopping now")
            self.stop()
            return
        self.drain_task = asyncio.get_event_loop().create_task(self.drain())

    async def drain(self) -> None:
        drain.begin()
        for port in self.ports:
            port.stopListening()
        logger.warning("drain: stopped listening; %d sockets", len(drain.sockets))
        try:
            report = await drain.drain_sockets()
            report["sockets_left"] = await drain.wait_sockets_gone()
            report["apps_left"] = await self._applications_done()
            logger.warning("drain: done %s", report)
        except Exception:
            logger.exception("drain failed")
        finally:
            self.stop()

    async def _applications_done(self) -> int:
        """Application instances still running, after waiting (bounded): HTTP requests,
        and the sockets' consumers, which after their disconnect still unsubscribe from
        the channel layer (stopping the loop under that cleanup cancels it halfway)."""

        def running() -> int:
            return sum(
                1
                for details in list(self.connections.values())
                if details.get("application_instance") is not None
                and not details["application_instance"].done()
            )

        await drain.until(lambda: running() == 0)
        return running()
