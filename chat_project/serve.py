"""The server launcher: ``python -m chat_project.serve [daphne's options] APP``.

daphne, in a process tuned for a gateway that holds thousands of sockets. The tuning
lives here, not in the importable ASGI module, so that importing the application (tests,
``manage.py``, tools) changes nothing about the importing process:

- the transport patch (``chat_project.patches.daphne_transport``: close frames for
  transport failures, no body parsing by Twisted);
- CPython's GIL switch interval, ``GIL_SWITCH_INTERVAL_MS`` (1 ms; CPython's default
  is 5): the server's threads mostly wait on MongoDB and Redis, and each reply then
  waits for the GIL (docs/benchmarks.md);
- the listen backlog, ``LISTEN_BACKLOG`` (2048; Twisted's default is 50): ``-b``/``-p``
  become a ``tcp:`` endpoint with that backlog, so that thousands of clients
  reconnecting at once after a deploy wait in the kernel's queue instead of having
  their SYNs dropped and retried a second or more later (issue 29; the kernel caps it
  at ``net.core.somaxconn``);
- daphne's ``--websocket_connect_timeout`` (5 s by default) past a handshake's wait in
  line and its bound (``WS_HANDSHAKE_WAIT_SECONDS`` + ``MONGODB_TIMEOUT_MS`` + 1 s),
  so that daphne never drops a handshake the line would still answer
  (``chat_project.gateway.handshake``);
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


def _option(argv: list[str], short: str, long: str) -> tuple[str | None, list[str]]:
    """The value of ``short``/``long`` in ``argv`` and ``argv`` without it."""
    value, rest, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in (short, long) and i + 1 < len(argv):
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith(long + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def with_listen_backlog(argv: list[str]) -> list[str]:
    """``argv`` with its ``-b``/``-p`` as a ``-e tcp:...:backlog=LISTEN_BACKLOG``
    endpoint (daphne's own ``-b``/``-p`` listen with Twisted's backlog of 50)."""
    from django.conf import settings

    port, rest = _option(argv, "-p", "--port")
    if port is None:
        return argv
    host, rest = _option(rest, "-b", "--bind")
    interface = (host or "127.0.0.1").strip("[]").replace(":", r"\:")
    endpoint = f"tcp:port={int(port)}:interface={interface}:backlog={settings.LISTEN_BACKLOG}"
    return ["-e", endpoint, *rest]


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
    cli.run(metrics_endpoint(args) + with_connect_timeout(with_listen_backlog(args)))


if __name__ == "__main__":
    main()
