"""The server launcher: ``python -m chat_project.serve [daphne's options] APP``.

daphne, in a process tuned for a gateway that holds thousands of sockets. The tuning
lives here, not in the importable ASGI module, so that importing the application (tests,
``manage.py``, tools) changes nothing about the importing process:

- the transport patch (``chat_project.patches.daphne_transport``: close frames for
  transport failures, no body parsing by Twisted);
- CPython's GIL switch interval, ``GIL_SWITCH_INTERVAL_MS`` (1 ms; CPython's default
  is 5): the server's threads mostly wait on MongoDB and Redis, and each reply then
  waits for the GIL (docs/benchmarks.md);
- daphne's ``--websocket_connect_timeout`` (5 s by default) past a handshake's wait in
  line and its bound (``WS_HANDSHAKE_WAIT_SECONDS`` + ``MONGODB_TIMEOUT_MS`` + 1 s),
  so that daphne never drops a handshake the line would still answer
  (``chat_project.gateway.handshake``). The listen backlog stays Twisted's 50 on
  purpose: with 2,048, 5,000 sockets reconnecting at once all reached the line at once
  and were refused 13,846-41,631 times (29-79 s until all were back); with 50 the
  kernel holds back the SYNs it cannot queue, at no cost to the gateway, and the same
  storm was refused 2,487-3,309 times (24-27 s; issue 29, docs/benchmarks.md);
- the metrics listener: with ``METRICS_PORT`` set, daphne also listens there, on the
  address given to ``-b`` (``chat_project.edge`` answers ``/metrics`` on it and
  nothing else; the app's port never serves metrics);
- a graceful drain on SIGTERM (issue 17, ``chat_project.drain``): stop listening,
  finish what the sockets started, close them with 1012, exit within
  ``DRAIN_SECONDS`` (``chat_project.patches.daphne_drain``);
- the cyclic GC (issue 8, scenario 1): with the defaults, full collections ran every
  ~5 s while sockets connected and paused the event loop for 0.4-1.9 s each (every
  socket's objects are walked), long enough for queued handshakes to time out.
  Everything loaded before serving (Django, the apps, Twisted, ...) lives as long as
  the process: frozen, no collection walks it again. A full collection is considered
  after 10,000,000 net allocations (2,000 x 5 x 1,000) instead of 7,000 x 10. The young
  and middle generations stay small: young collections every 2,000 allocations and a
  middle one every 5 of them, so a middle collection walks at most ~10,000 objects.
  Issue 12 measured the pauses at 100 msg/s (a ``gc.callbacks`` timer): with 10,000 x
  10 the middle collections paused the loop for up to 117 ms and young ones up to 48
  ms, the stalls that failed single low-rate benchmark steps; with 2,000 x 5, at most
  13 and 18 ms (docs/benchmarks.md).

``./run.sh``, the benchmarks, the end-to-end and fault tests and ``docker-compose.yml``
all start the server this way.
"""

from __future__ import annotations

import gc
import math
import os
import sys


def tune_process() -> None:
    from django.conf import settings

    from chat_project.patches import daphne_drain, daphne_transport

    daphne_transport.install()
    daphne_drain.install()
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL_MS / 1000)
    gc.freeze()
    gc.set_threshold(2_000, 5, 1_000)


def metrics_endpoint(argv: list[str]) -> list[str]:
    """daphne's ``-e`` for the metrics listener (``METRICS_PORT``) on the bind address
    of ``argv`` (daphne's default, 127.0.0.1, without one); none without the port."""
    from daphne.endpoints import build_endpoint_description_strings
    from django.conf import settings

    if not settings.METRICS_PORT:
        return []
    host = "127.0.0.1"
    for i, arg in enumerate(argv):
        if arg in ("-b", "--bind") and i + 1 < len(argv):
            host = argv[i + 1]
        elif arg.startswith("--bind="):
            host = arg.split("=", 1)[1]
    [endpoint] = build_endpoint_description_strings(host=host, port=settings.METRICS_PORT)
    return ["-e", endpoint]


def with_connect_timeout(argv: list[str]) -> list[str]:
    """``argv`` with daphne's handshake timeout past the line's wait and the bound,
    unless it gives one."""
    from django.conf import settings

    if any(arg.startswith("--websocket_connect_timeout") for arg in argv):
        return argv
    wait = settings.WS_HANDSHAKE_WAIT_SECONDS + settings.MONGODB_TIMEOUT_MS / 1000 + 1
    return ["--websocket_connect_timeout", str(math.ceil(wait)), *argv]


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
    import chat_project.asgi  # noqa: F401  (Django and the apps, loaded before the freeze)

    tune_process()
    from daphne.cli import CommandLineInterface

    from chat_project.patches.daphne_drain import DrainingServer

    args = sys.argv[1:] if argv is None else argv
    cli = CommandLineInterface()
    cli.server_class = DrainingServer
    cli.run(metrics_endpoint(args) + with_connect_timeout(args))


if __name__ == "__main__":
    main()
